package cleanup

import (
	"fmt"

	"github.com/storagegate/storagegate/shared/scope"
	"github.com/storagegate/storagegate/shared/storageurl"
)

// target is a resolved item's bucket on its entry's store.
type target struct {
	del      scope.Bucket
	entry    string
	provider string
}

// group is the objects of one message in one bucket of one store.
type group struct {
	target
	base  storageurl.URL // provider, host, account and bucket
	items []item
}

type groupKey struct {
	entry, bucket string
}

// start checks each item's scope and starts the work; items that cannot be
// done or that fail a guard are reported without any store call.
func (r *run) start(items []item) {
	var urls []resolved
	var prefixes []resolved
	covered := map[string]bool{} // accepted prefixes, normalised
	for _, it := range items {
		if it.bad != nil {
			r.fail(providerOf(it.raw), *it.bad)
			continue
		}
		t, f := r.resolve(it)
		if f != nil {
			r.fail(string(it.u.Provider), *f)
			continue
		}
		if it.prefix {
			prefixes = append(prefixes, resolved{it, t})
			covered[it.u.String()] = true
		} else {
			urls = append(urls, resolved{it, t})
		}
	}
	groups := map[groupKey]*group{}
	var order []*group
	for _, x := range urls {
		// An object under a prefix of the same message is the listing's
		// to delete; deleting it twice would count it twice.
		if underAny(x.it.u, covered) {
			continue
		}
		k := groupKey{x.t.entry, x.it.u.Bucket}
		g := groups[k]
		if g == nil {
			base := x.it.u
			base.Key = ""
			g = &group{target: x.t, base: base}
			groups[k] = g
			order = append(order, g)
		}
		g.items = append(g.items, x.it)
	}
	for _, g := range order {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.objects(g)
		}()
	}
	for _, p := range prefixes {
		r.lists <- struct{}{}
		r.wg.Add(1)
		go func() {
			defer func() { <-r.lists; r.wg.Done() }()
			r.prefix(p.it, p.t)
		}()
	}
}

type resolved struct {
	it item
	t  target
}

// underAny reports whether one of u's folders is in prefixes.
func underAny(u storageurl.URL, prefixes map[string]bool) bool {
	if len(prefixes) == 0 {
		return false
	}
	key := u.Key
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			u.Key = key[:i+1]
			if prefixes[u.String()] {
				return true
			}
		}
	}
	return false
}

// resolve applies the guards (docs/cleanup.md#guards), then the scope:
// cleanup.match_sets and the credentials config
// (docs/configuration.md#scope).
func (r *run) resolve(it item) (target, *Failure) {
	u := it.u
	if it.prefix {
		if depth := u.PrefixDepth(); depth < r.p.minDepth {
			return target{}, &Failure{URL: it.raw, Code: codeRefused, Reason: fmt.Sprintf(
				"the prefix is %d folder(s) below the bucket; cleanup.min_prefix_depth is %d", depth, r.p.minDepth)}
		}
	}
	obj, serr := r.p.rules.Resolve(r.res, u, "", "")
	if serr != nil {
		return target{}, &Failure{URL: it.raw, Code: serr.Code, Reason: serr.Reason}
	}
	return target{del: obj.Bucket(), entry: obj.Entry, provider: string(u.Provider)}, nil
}
