package clearmltest

import (
	"net/http"
	"time"
)

// StorageSettings is what an admin saves on the Storage Credentials page
// (storage.set_settings): each provider that is set replaces the server's
// own for that provider. A nil provider falls back to the server's
// services.storage_credentials, as clearml-server does.
type StorageSettings struct {
	AWS    *AWSSettings
	Google *GoogleSettings
	Azure  *AzureSettings
}

// AWSSettings are the S3 defaults and bucket entries.
type AWSSettings struct {
	Key, Secret, Token, Region string
	UseCredentialsChain        bool
	Buckets                    []S3Bucket
}

// S3Bucket is one bucket entry. Secure and Verify default to true (nil).
type S3Bucket struct {
	Bucket, Subdir, Host, Key, Secret, Token, Region, ACL string
	Secure, Verify, Multipart                             *bool
	UseCredentialsChain                                   bool
}

// GoogleSettings are the GCS defaults and bucket entries; CredentialsJSON is
// the key file's content.
type GoogleSettings struct {
	Project, CredentialsJSON string
	Buckets                  []GSBucket
}

// GSBucket is one GCS bucket entry.
type GSBucket struct {
	Bucket, Subdir, Project, CredentialsJSON string
}

// AzureSettings are the container entries.
type AzureSettings struct {
	Containers []AzureContainer
}

// AzureContainer is one account (and optionally container) entry.
type AzureContainer struct {
	AccountName, AccountKey, ContainerName string
}

// companySettings is one company's saved settings and when they were saved.
type companySettings struct {
	s       StorageSettings
	updated time.Time
}

// SetStorageSettings saves a company's settings, as storage.set_settings
// does, with last_update now. Every call is a save: last_update moves even
// when nothing changed, as on the server.
func (s *Server) SetStorageSettings(companyID string, st StorageSettings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	if prev, ok := s.storage[companyID]; ok && !now.After(prev.updated) {
		now = prev.updated.Add(time.Millisecond) // a save always moves last_update
	}
	s.storage[companyID] = companySettings{s: st, updated: now}
}

// ResetStorageSettings forgets a company's settings: storage.get_settings
// then answers the server's own configuration with last_update null.
func (s *Server) ResetStorageSettings(companyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.storage, companyID)
}

// SetServerStorage replaces the server's own services.storage_credentials
// (its configuration file), which answers for companies that saved nothing.
func (s *Server) SetServerStorage(st StorageSettings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serverStorage = st
}

// DefaultServerStorage is clearml-server's shipped storage_credentials.conf:
// one host-wide entry for a local MinIO with its default keys, nothing for
// Google and Azure.
func DefaultServerStorage() StorageSettings {
	f := false
	return StorageSettings{AWS: &AWSSettings{Buckets: []S3Bucket{{
		Host: "localhost:9000", Key: "minioadmin", Secret: "minioadmin", Multipart: &f, Secure: &f,
	}}}}
}

// getSettings answers storage.get_settings for the caller's company, in
// clearml-server's shape: data.settings {aws, google, azure, last_update},
// each bucket entry with every field of the SDK's bucket config, entries
// without usable S3 credentials dropped, and last_update null when the
// company never saved settings. Any role may call it; nothing is masked.
func (s *Server) getSettings(c *call, r *http.Request) {
	id, e := s.authenticate(r)
	if e != nil {
		c.failWith(e)
		return
	}
	var body map[string]any
	if !c.decode(r, &body) {
		return
	}
	if len(body) > 0 {
		// The request schema has additionalProperties: false.
		c.fail(400, 12, "Validation error (additional properties not allowed)", nil)
		return
	}
	s.mu.Lock()
	cs, saved := s.storage[id.Company]
	file := s.serverStorage
	s.mu.Unlock()

	eff := file
	var lastUpdate any
	if saved {
		lastUpdate = cs.updated.Format("2006-01-02T15:04:05.000000")
		if cs.s.AWS != nil {
			eff.AWS = cs.s.AWS
		}
		if cs.s.Google != nil {
			eff.Google = cs.s.Google
		}
		if cs.s.Azure != nil {
			eff.Azure = cs.s.Azure
		}
	}
	c.ok(map[string]any{"settings": map[string]any{
		"aws":         awsAnswer(eff.AWS),
		"google":      googleAnswer(eff.Google, saved && cs.s.Google != nil),
		"azure":       azureAnswer(eff.Azure),
		"last_update": lastUpdate,
	}})
}

func awsAnswer(a *AWSSettings) map[string]any {
	if a == nil {
		a = &AWSSettings{}
	}
	buckets := []any{}
	for _, b := range a.Buckets {
		// S3BucketConfig.from_list keeps only entries with a key and
		// secret, or the credentials chain.
		if !(b.Key != "" && b.Secret != "" || b.UseCredentialsChain) {
			continue
		}
		buckets = append(buckets, map[string]any{
			"bucket": b.Bucket, "subdir": b.Subdir, "host": b.Host, "key": b.Key, "secret": b.Secret,
			"token": b.Token, "multipart": orTrue(b.Multipart), "acl": b.ACL, "secure": orTrue(b.Secure),
			"region": b.Region, "verify": orTrue(b.Verify), "use_credentials_chain": b.UseCredentialsChain,
			"extra_args": nil,
		})
	}
	return map[string]any{
		"key": a.Key, "secret": a.Secret, "token": a.Token, "region": a.Region,
		"use_credentials_chain": a.UseCredentialsChain, "buckets": buckets,
	}
}

// googleAnswer: a company's saved settings answer as saved (null for what
// is unset); the server's own, when it configures nothing, answer a null
// project and an empty object for credentials_json, as clearml-server's
// configuration classes leave them.
func googleAnswer(g *GoogleSettings, saved bool) map[string]any {
	buckets := []any{}
	if g == nil {
		return map[string]any{"project": nil, "credentials_json": map[string]any{}, "buckets": buckets}
	}
	for _, b := range g.Buckets {
		buckets = append(buckets, map[string]any{
			"bucket": b.Bucket, "subdir": b.Subdir, "project": nullable(b.Project),
			"credentials_json": nullable(b.CredentialsJSON), "pool_connections": nil, "pool_maxsize": nil,
		})
	}
	return map[string]any{"project": nullable(g.Project), "credentials_json": nullable(g.CredentialsJSON), "buckets": buckets}
}

func azureAnswer(a *AzureSettings) map[string]any {
	containers := []any{}
	if a != nil {
		for _, c := range a.Containers {
			containers = append(containers, map[string]any{
				"account_name": c.AccountName, "account_key": c.AccountKey, "container_name": nullable(c.ContainerName),
			})
		}
	}
	return map[string]any{"containers": containers}
}

func orTrue(b *bool) bool { return b == nil || *b }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
