// Package credentials finds the configured credentials for a storage URL with
// ClearML's own matching semantics
// (docs/configuration.md#matching-a-url-to-credentials), and holds one
// prepared store per entry, built once at start-up.
package credentials

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/s3store"
)

// ErrNotConfigured is a URL that no entry (or, where allowed, no default)
// covers. The service neither signs for nor contacts it.
var ErrNotConfigured = errors.New("not configured")

// Target is the store and entry that serve one URL.
type Target struct {
	Store store.Store
	// Entry names the config entry, e.g. "storage.aws.buckets[1]", for logs.
	Entry string
}

// Builders make a provider's store from a resolved entry. A nil builder
// means the provider is not available in this build.
type Builders struct {
	GCS   func(config.Google, *config.GSBucket) (store.Store, error)
	Azure func(config.AzureContainer) (store.Store, error)
}

type entry struct {
	prefix string // e.g. s3://host:9000/bucket/subdir, the host lower-cased
	folder bool   // the prefix ends in a subdir: only keys inside it match
	target Target
	bucket string
}

// Entry describes one configured entry, for `check-config --probe`.
type Entry struct {
	Name     string
	Provider storageurl.Provider
	Bucket   string // empty for defaults and host-wide entries
	Store    store.Store
}

// Entries lists every entry, defaults first, then the bucket entries in
// config order (S3, Google, Azure).
func (r *Resolver) Entries() []Entry {
	out := make([]Entry, 0, len(r.listed)+2)
	if r.s3Default != nil {
		out = append(out, Entry{Name: r.s3Default.Entry, Provider: storageurl.S3, Store: r.s3Default.Store})
	}
	if r.gsDefault != nil {
		out = append(out, Entry{Name: r.gsDefault.Entry, Provider: storageurl.GCS, Store: r.gsDefault.Store})
	}
	return append(out, r.listed...)
}

// Resolver maps URLs to targets.
type Resolver struct {
	s3, gs, azure        []entry
	s3Default, gsDefault *Target
	// AzureHosts feeds storageurl.Options: configured endpoint hosts.
	azureHosts map[string]string
	// listed is every bucket entry in config order, for Entries.
	listed []Entry
}

// New builds every configured store; a bad entry fails here, naming its field.
func New(st config.Storage, b Builders) (*Resolver, error) { return Build(st, b, nil) }

// Build is New, except that with a skip function an entry that cannot be
// built is reported to it (by its field name, e.g. storage.aws.buckets[3])
// and left out, while the rest are built: settings that arrive at run time
// (from ClearML) must not lose every bucket to one bad entry.
func Build(st config.Storage, b Builders, skip func(field string, err error)) (*Resolver, error) {
	bl := &builder{r: &Resolver{azureHosts: map[string]string{}}, skip: skip}
	if err := bl.addS3(st.AWS); err != nil {
		return nil, err
	}
	if err := bl.addGoogle(st.Google, b.GCS); err != nil {
		return nil, err
	}
	if err := bl.addAzure(st.Azure.Containers, b.Azure); err != nil {
		return nil, err
	}
	// Longest prefix first; among equals, config order.
	for _, es := range [][]entry{bl.r.s3, bl.r.gs} {
		sort.SliceStable(es, func(i, j int) bool { return len(es[i].prefix) > len(es[j].prefix) })
	}
	return bl.r, nil
}

// builder is one Build in progress: the providers' helpers share the
// resolver they fill and Build's one policy for an entry that fails.
type builder struct {
	r    *Resolver
	skip func(field string, err error)
}

// bad applies that policy to an entry that cannot be built. Without a skip
// function it returns err, which ends Build; with one it reports the entry
// and returns nil, so that the caller leaves the entry out and goes on.
func (bl *builder) bad(err error) error {
	if bl.skip == nil {
		return err
	}
	var fe *config.FieldError
	if errors.As(err, &fe) {
		bl.skip(fe.Field, errors.New(fe.Message))
	} else {
		bl.skip("storage", err)
	}
	return nil
}

// add records a built entry both where Resolve looks (list) and in the
// config-order listing that Entries returns.
func (bl *builder) add(list *[]entry, p storageurl.Provider, e entry) {
	*list = append(*list, e)
	bl.r.listed = append(bl.r.listed, Entry{Name: e.target.Entry, Provider: p, Bucket: e.bucket, Store: e.target.Store})
}

// addS3 builds the S3 default credentials, then the bucket entries, which
// may borrow those defaults.
func (bl *builder) addS3(a config.AWS) error {
	if a.Key != "" || a.UseCredentialsChain {
		s, err := s3store.New(s3store.Params{
			Region: a.Region, Key: a.Key, Secret: a.Secret, Token: a.Token,
			UseChain: a.UseCredentialsChain, Secure: true,
		})
		if err != nil {
			if err := bl.bad(fieldErr("storage.aws", err)); err != nil {
				return err
			}
		} else {
			bl.r.s3Default = &Target{Store: s, Entry: "storage.aws"}
		}
	}
	for i, e := range a.Buckets {
		en, err := s3Entry(a, e, fmt.Sprintf("storage.aws.buckets[%d]", i))
		if err != nil {
			if err := bl.bad(err); err != nil {
				return err
			}
			continue
		}
		bl.add(&bl.r.s3, storageurl.S3, en)
	}
	return nil
}

// s3Entry builds one bucket entry. The checks run in a fixed order (the
// credentials, the store, then the subdir) because a skip function hears
// only the first failure of an entry.
func s3Entry(a config.AWS, e config.S3Bucket, name string) (entry, error) {
	p, err := s3Params(a, e, name)
	if err != nil {
		return entry{}, err
	}
	s, err := s3store.New(p)
	if err != nil {
		return entry{}, fieldErr(name, err)
	}
	prefix := "s3://"
	switch {
	case e.Host != "" && e.Bucket != "":
		prefix += lower(e.Host) + "/" + e.Bucket
	case e.Host != "":
		prefix += lower(e.Host)
	default:
		prefix += e.Bucket
	}
	sub := strings.Trim(e.Subdir, "/")
	if sub != "" {
		if e.Bucket == "" {
			// Dropping the subdir would widen the entry to the whole host.
			return entry{}, &config.FieldError{Field: name + ".subdir", Message: "needs bucket: a subdir is a folder inside one bucket"}
		}
		prefix += "/" + sub
	}
	return entry{prefix: prefix, folder: sub != "", target: Target{Store: s, Entry: name}, bucket: e.Bucket}, nil
}

// s3Params are the store parameters of bucket entry e, with what it leaves
// out taken from the defaults a.
func s3Params(a config.AWS, e config.S3Bucket, name string) (s3store.Params, error) {
	p := s3store.Params{
		Host: e.Host, PublicHost: e.PublicHost, Secure: e.IsSecure(), Region: e.Region,
		Key: e.Key, Secret: e.Secret, Token: e.Token, UseChain: e.UseCredentialsChain, SkipVerify: !e.IsVerify(),
	}
	if p.Key == "" && !p.UseChain {
		// An entry without keys of its own names scope and endpoint, and
		// signs with the default credentials.
		if a.Key == "" && !a.UseCredentialsChain {
			return p, fieldErr(name, errors.New("has no key and secret of its own and storage.aws has no default credentials: give key and secret, or use_credentials_chain"))
		}
		p.Key, p.Secret, p.Token, p.UseChain = a.Key, a.Secret, a.Token, a.UseCredentialsChain
	}
	// storage.aws.region is AWS's: an S3-compatible host keeps the store's
	// own default (docs/configuration.md, the bucket entry's region).
	if p.Region == "" && e.Host == "" {
		p.Region = a.Region
	}
	return p, nil
}

// addGoogle builds the Google default credentials, then the bucket entries.
// A build without GCS support refuses a section that names any (one error
// for the whole section, as there is no store to try an entry on).
func (bl *builder) addGoogle(g config.Google, build func(config.Google, *config.GSBucket) (store.Store, error)) error {
	if build == nil {
		if len(g.Buckets) > 0 || g.CredentialsJSON != "" {
			return bl.bad(fieldErr("storage.google", errors.New("this build does not support Google Cloud Storage")))
		}
		return nil
	}
	if g.CredentialsJSON != "" || g.Project != "" {
		s, err := build(g, nil)
		if err != nil {
			if err := bl.bad(fieldErr("storage.google", err)); err != nil {
				return err
			}
		} else {
			bl.r.gsDefault = &Target{Store: s, Entry: "storage.google"}
		}
	}
	for i := range g.Buckets {
		e := &g.Buckets[i]
		name := fmt.Sprintf("storage.google.buckets[%d]", i)
		s, err := build(g, e)
		if err != nil {
			if err := bl.bad(fieldErr(name, err)); err != nil {
				return err
			}
			continue
		}
		prefix := "gs://" + e.Bucket
		sub := strings.Trim(e.Subdir, "/")
		if sub != "" {
			prefix += "/" + sub
		}
		bl.add(&bl.r.gs, storageurl.GCS, entry{prefix: prefix, folder: sub != "", target: Target{Store: s, Entry: name}, bucket: e.Bucket})
	}
	return nil
}

// addAzure builds the container entries. An endpoint host is recorded for
// the URL parser only once its entry is built, so that a skipped entry
// neither claims a host nor clashes with a later one.
func (bl *builder) addAzure(cs []config.AzureContainer, build func(config.AzureContainer) (store.Store, error)) error {
	for i, c := range cs {
		name := fmt.Sprintf("storage.azure.containers[%d]", i)
		en, host, err := bl.azureEntry(c, name, build)
		if err != nil {
			if err := bl.bad(err); err != nil {
				return err
			}
			continue
		}
		if host != "" {
			bl.r.azureHosts[host] = c.AccountName
		}
		bl.add(&bl.r.azure, storageurl.Azure, en)
	}
	return nil
}

// azureEntry builds one container entry and returns the endpoint host it
// adds to the parser's (empty for the public cloud's hosts, which name
// their account).
func (bl *builder) azureEntry(c config.AzureContainer, name string, build func(config.AzureContainer) (store.Store, error)) (entry, string, error) {
	if build == nil {
		return entry{}, "", fieldErr(name, errors.New("this build does not support Azure Blob"))
	}
	var host string
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" {
			return entry{}, "", &config.FieldError{Field: name + ".endpoint", Message: "is not a URL"}
		}
		if h := lower(u.Host); !strings.HasSuffix(h, storageurl.AzureBlobSuffix) {
			// azure://<host>/... names its account by the host alone.
			if prev, ok := bl.r.azureHosts[h]; ok && prev != c.AccountName {
				return entry{}, "", &config.FieldError{Field: name + ".endpoint", Message: "host " + h + " already serves account " + prev}
			}
			host = h
		}
	}
	s, err := build(c)
	if err != nil {
		return entry{}, "", fieldErr(name, err)
	}
	// Azure entries match by account and container, in config order;
	// the prefix only carries them.
	return entry{prefix: c.AccountName + "/" + c.ContainerName, target: Target{Store: s, Entry: name}, bucket: c.ContainerName}, host, nil
}

// URLOptions are the parser options this config implies (configured Azure
// endpoint hosts). The map is a copy.
func (r *Resolver) URLOptions() storageurl.Options {
	hosts := make(map[string]string, len(r.azureHosts))
	for h, a := range r.azureHosts {
		hosts[h] = a
	}
	return storageurl.Options{AzureHosts: hosts}
}

// Resolve finds u's target. withDefaults lets default credentials serve URLs
// that no entry names: scope then comes from match_sets rules
// (docs/configuration.md#scope).
func (r *Resolver) Resolve(u storageurl.URL, withDefaults bool) (Target, error) {
	switch u.Provider {
	case storageurl.S3:
		var full string
		if u.Host != "" {
			full = "s3://" + u.Host + "/" + u.Bucket + "/" + u.Key
		} else {
			full = "s3://" + u.Bucket + "/" + u.Key
		}
		if t, ok := longest(r.s3, full); ok {
			return t, nil
		}
		// Default credentials cover AWS (no host) only.
		if withDefaults && u.Host == "" && r.s3Default != nil {
			return *r.s3Default, nil
		}
	case storageurl.GCS:
		if t, ok := longest(r.gs, "gs://"+u.Bucket+"/"+u.Key); ok {
			return t, nil
		}
		if withDefaults && r.gsDefault != nil {
			return *r.gsDefault, nil
		}
	case storageurl.Azure:
		for _, e := range r.azure {
			acct, container, _ := strings.Cut(e.prefix, "/")
			if acct == u.Account && (container == "" || container == u.Bucket) {
				return e.target, nil
			}
		}
	}
	return Target{}, ErrNotConfigured
}

// longest returns the first (longest) entry whose prefix covers s on a path
// segment boundary: s3://host/artifacts never covers s3://host/artifacts2/,
// and an entry with a subdir covers only keys inside that folder. Hosts are
// compared lower-cased (the parser lower-cases the URL's); buckets, subdirs
// and keys are case-sensitive, as the stores are: ClearML lower-cases the
// whole URL, which would let {subdir: public} cover PUBLIC/, another folder.
func longest(es []entry, s string) (Target, bool) {
	for _, e := range es {
		if !strings.HasPrefix(s, e.prefix) {
			continue
		}
		rest := s[len(e.prefix):]
		if e.folder && len(rest) > 1 && rest[0] == '/' || !e.folder && (rest == "" || rest[0] == '/') {
			return e.target, true
		}
	}
	return Target{}, false
}

// lower lower-cases ASCII letters only, as ClearML lower-cases the URL and
// the entry's prefix; Unicode case mapping could turn other characters (the
// Kelvin sign) into ASCII ones, or change a string's length.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

func fieldErr(field string, err error) error {
	return &config.FieldError{Field: field, Message: err.Error()}
}
