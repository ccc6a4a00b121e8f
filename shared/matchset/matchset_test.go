package matchset

import (
	"strings"
	"testing"

	"github.com/storagegate/storagegate/shared/config"
)

type req struct{ url, field, objType string }

func rules(rs ...config.Rule) config.MatchSet { return config.MatchSet{Rules: rs} }

func re(regex string) config.Rule { return config.Rule{Regex: regex} }

func TestMatch(t *testing.T) {
	tests := []struct {
		name string
		sets []config.MatchSet
		yes  []req
		no   []req
	}{
		{
			name: "no sets match nothing",
			sets: nil,
			no:   []req{{url: "s3://b/k"}, {url: ""}},
		},
		{
			name: "clearml's ^s3:// rule",
			sets: []config.MatchSet{rules(config.Rule{Field: "", ObjType: "", Regex: "^s3://"})},
			yes:  []req{{url: "s3://b/k"}, {url: "s3://host:9000/b/k", field: "url", objType: "model"}},
			no:   []req{{url: "gs://b/k"}, {url: "azure://a.blob.core.windows.net/c/k"}, {url: "xs3://b/k"}, {url: " s3://b/k"}},
		},
		{
			name: "regexes are unanchored",
			sets: []config.MatchSet{rules(re("artifacts/"))},
			yes:  []req{{url: "s3://b/p/t.1/artifacts/x"}, {url: "gs://artifacts/x"}},
			no:   []req{{url: "s3://b/p/t.1/models/x"}},
		},
		{
			name: "anchors are honoured",
			sets: []config.MatchSet{rules(re(`^s3://bucket/.*\.png$`))},
			yes:  []req{{url: "s3://bucket/a/b.png"}},
			no:   []req{{url: "s3://bucket/a/b.png.txt"}, {url: "s3://other/s3://bucket/b.png"}},
		},
		{
			name: "empty regex matches every url",
			sets: []config.MatchSet{rules(re(""))},
			yes:  []req{{url: "s3://b/k"}, {url: "gs://b/k", field: "f", objType: "o"}},
		},
		{
			name: "every rule of a set must match",
			sets: []config.MatchSet{rules(re("^s3://"), re("/debug/"), config.Rule{Field: "url", Regex: ""})},
			yes:  []req{{url: "s3://b/p/debug/x.png", field: "url"}},
			no: []req{
				{url: "s3://b/p/debug/x.png"},               // field differs
				{url: "gs://b/p/debug/x.png", field: "url"}, // first rule fails
				{url: "s3://b/p/models/x", field: "url"},    // second rule fails
			},
		},
		{
			name: "any set is enough",
			sets: []config.MatchSet{rules(re("^gs://")), rules(re("^s3://team-a/")), rules(re("^azure://"), config.Rule{ObjType: "model"})},
			yes: []req{
				{url: "gs://x/k"},
				{url: "s3://team-a/k"},
				{url: "azure://a.blob.core.windows.net/c/k", objType: "model"},
			},
			no: []req{
				{url: "s3://team-b/k"},
				{url: "azure://a.blob.core.windows.net/c/k", objType: "artifact"},
				{url: "azure://a.blob.core.windows.net/c/k"},
			},
		},
		{
			name: "field: empty in the rule matches any, else equal",
			sets: []config.MatchSet{rules(config.Rule{Field: "uri", Regex: "^s3://"})},
			yes:  []req{{url: "s3://b/k", field: "uri"}, {url: "s3://b/k", field: "uri", objType: "anything"}},
			no:   []req{{url: "s3://b/k"}, {url: "s3://b/k", field: "URI"}, {url: "s3://b/k", field: "uri2"}, {url: "s3://b/k", field: "ur"}},
		},
		{
			name: "obj_type: empty in the rule matches any, else equal",
			sets: []config.MatchSet{rules(config.Rule{ObjType: "model", Regex: "^s3://"})},
			yes:  []req{{url: "s3://b/k", objType: "model"}, {url: "s3://b/k", objType: "model", field: "x"}},
			no:   []req{{url: "s3://b/k"}, {url: "s3://b/k", objType: "Model"}, {url: "s3://b/k", objType: "models"}},
		},
		{
			name: "field and obj_type together",
			sets: []config.MatchSet{rules(config.Rule{Field: "f", ObjType: "o", Regex: "k$"})},
			yes:  []req{{url: "s3://b/k", field: "f", objType: "o"}},
			no:   []req{{url: "s3://b/k", field: "f"}, {url: "s3://b/k", objType: "o"}, {url: "s3://b/x", field: "f", objType: "o"}},
		},
		{
			name: "RE2 syntax, case-sensitive unless (?i)",
			sets: []config.MatchSet{rules(re(`(?i)^S3://BUCKET/`)), rules(re(`^gs://b/\d+/`))},
			yes:  []req{{url: "s3://bucket/k"}, {url: "gs://b/12/x"}},
			no:   []req{{url: "gs://b/x/12/"}, {url: "gs://B/12/x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.Empty(), len(tt.sets) == 0; got != want {
				t.Errorf("Empty() = %v, want %v", got, want)
			}
			for _, r := range tt.yes {
				if !s.Match(r.url, r.field, r.objType) {
					t.Errorf("Match(%q, %q, %q) = false, want true", r.url, r.field, r.objType)
				}
			}
			for _, r := range tt.no {
				if s.Match(r.url, r.field, r.objType) {
					t.Errorf("Match(%q, %q, %q) = true, want false", r.url, r.field, r.objType)
				}
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	for _, sets := range [][]config.MatchSet{nil, {}} {
		s, err := Compile(sets)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Empty() || s.Match("s3://b/k", "", "") {
			t.Errorf("Compile(%#v): want empty sets that match nothing", sets)
		}
	}
	var zero Sets
	if !zero.Empty() || zero.Match("s3://b/k", "", "") {
		t.Error("the zero Sets must be empty and match nothing")
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		sets []config.MatchSet
		want string
	}{
		{"bad regex", []config.MatchSet{rules(re("^s3://"), re("("))}, "match_sets[0].rules[1].regex: error parsing regexp"},
		{"bad regex in a later set", []config.MatchSet{rules(re("ok")), rules(re("[a-"))}, "match_sets[1].rules[0].regex"},
		{"perl lookahead is not RE2", []config.MatchSet{rules(re(`^s3://(?!secret)`))}, "match_sets[0].rules[0].regex"},
		{"set without rules", []config.MatchSet{rules(re("x")), {}}, "match_sets[1].rules: a match set needs at least one rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(tt.sets)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile() error %v, want one containing %q", err, tt.want)
			}
			if !s.Empty() {
				t.Fatal("a failed Compile returned rules")
			}
		})
	}
}

// The services list form: the `type: presign` entry's match_sets are used,
// exactly as the ClearML server setting carries them.
func TestServicesListViaConfig(t *testing.T) {
	const doc = `{
	  "presign": {
	    "services": [
	      {"type": "other", "url": "https://x", "match_sets": [{"rules": [{"field": "", "obj_type": "", "regex": "^gs://"}]}]},
	      {"type": "presign", "url": "https://presign.example.com", "use_fallback": "false",
	       "match_sets": [{"rules": [{"field": "", "obj_type": "", "regex": "^s3://"}]}]}
	    ]
	  }
	}`
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(cfg.Presign.EffectiveMatchSets())
	if err != nil {
		t.Fatal(err)
	}
	if s.Empty() || !s.Match("s3://bucket/k", "", "") || s.Match("gs://bucket/k", "", "") {
		t.Fatal("want the presign service's ^s3:// rule, and only it")
	}

	// match_sets, when given, win over services.
	cfg.Presign.MatchSets = []config.MatchSet{rules(re("^gs://"))}
	s, err = Compile(cfg.Presign.EffectiveMatchSets())
	if err != nil {
		t.Fatal(err)
	}
	if s.Match("s3://bucket/k", "", "") || !s.Match("gs://bucket/k", "", "") {
		t.Fatal("want presign.match_sets to win over presign.services")
	}

	// A services list without a presign entry means no rules.
	cfg.Presign.MatchSets = nil
	cfg.Presign.Services = cfg.Presign.Services[:1]
	s, err = Compile(cfg.Presign.EffectiveMatchSets())
	if err != nil || !s.Empty() {
		t.Fatalf("want no rules without a presign service, got empty=%v err=%v", s.Empty(), err)
	}
}

// ClearML's env form, pasted as YAML.
func TestServicesListYAML(t *testing.T) {
	doc := "presign:\n  services: [{\"type\":\"presign\",\"url\":\"https://svc\",\"use_fallback\":\"false\",\"match_sets\":[{\"rules\":[{\"field\":\"\",\"obj_type\":\"\",\"regex\":\"^s3://\"}]}]}]\n"
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(cfg.Presign.EffectiveMatchSets())
	if err != nil || !s.Match("s3://b/k", "", "") {
		t.Fatalf("err=%v", err)
	}
}
