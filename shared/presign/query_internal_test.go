package presign

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// TestParseQueryIsParseQuerys: parseQuery reads every field exactly as
// url.ParseQuery followed by Get (or the first value) would, and fails
// where it fails.
func TestParseQueryIsParseQuerys(t *testing.T) {
	cases := []string{
		"", "url=s3%3A%2F%2Fb%2Fk", "url=a&url=b", "url=a;b", "url=%zz", "u%72l=x", "url=a+b%2Bc", "x=%&url=a",
		"expires=60&download=1&method=HEAD&format=json&field=f&obj_type=o&url=x", "expires=&download=&url=",
		"&&url=a&&", "=x&url=y", "url", "url=a&expires=1&expires=2", "method=get&method=head&url=u", "%=x",
		"url=%e2%82%ac", "url=a%2", "url=a%", "field=%41%42&obj_type=c+d&url=k", strings.Repeat("a&", maxQueryParams) + "url=x",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"url", "expires", "download", "method", "format", "field", "obj_type", "=", "&", ";", "%", "%2", "%41", "%zz", "+", "a", "1", "u%72l"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, raw := range cases {
		want, err := url.ParseQuery(raw)
		got, ok := parseQuery(raw)
		if ok != (err == nil) {
			t.Fatalf("%q: ok %v, ParseQuery error %v", raw, ok, err)
		}
		if !ok {
			continue
		}
		first := func(k string) (string, bool) {
			v, ok := want[k]
			if !ok {
				return "", false
			}
			return v[0], true
		}
		u, _ := first("url")
		e, he := first("expires")
		d, hd := first("download")
		if got.urls != len(want["url"]) || got.urls > 0 && got.url != u || got.hasExpires != he || got.expires != e ||
			got.hasDownload != hd || got.download != d || got.method != want.Get("method") || got.format != want.Get("format") ||
			got.field != want.Get("field") || got.objType != want.Get("obj_type") {
			t.Fatalf("%q: got %+v, ParseQuery %v", raw, got, want)
		}
	}
}
