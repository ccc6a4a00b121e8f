package config

import (
	"testing"
)

// FuzzParse: any document either loads a valid config or fails with a
// message; it never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "{}", fullJSON, fullYAML, clearMLSettings, secretDoc, "[1]", "a: [", "storage: {aws: {buckets: [{}]}}",
		`{"presign": {"expires": 1e300}}`, "presign:\n  window: -1\n", "? [a]\n: b\n", "~: x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		c, _, err := Parse([]byte(doc))
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v", c, err)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		if err == nil {
			if c.Presign.Expires.D() < 1e9 || c.Presign.Expires.D() > c.Presign.MaxExpires.D() || c.Cleanup.PrefixDepth() < 1 {
				t.Fatalf("an invalid config loaded: %+v", c)
			}
		}
	})
}
