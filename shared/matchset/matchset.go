// Package matchset evaluates ClearML's match_sets rules
// (services.system.company.default.services[].match_sets): a set matches
// when every rule in it matches, and a URL is eligible when any set matches.
package matchset

import (
	"fmt"
	"regexp"

	"github.com/storagegate/storagegate/shared/config"
)

// Sets is a compiled list of match sets. The zero value has no rules.
type Sets struct {
	sets [][]rule
}

type rule struct {
	field, objType string
	re             *regexp.Regexp
}

// Compile compiles the regexes once (RE2, unanchored unless written with ^/$).
func Compile(sets []config.MatchSet) (Sets, error) {
	var out Sets
	for i, s := range sets {
		// A set without rules would match every URL (every rule of an empty
		// set matches): config validation refuses it, and so does Compile.
		if len(s.Rules) == 0 {
			return Sets{}, fmt.Errorf("match_sets[%d].rules: a match set needs at least one rule", i)
		}
		var rs []rule
		for j, r := range s.Rules {
			re, err := regexp.Compile(r.Regex)
			if err != nil {
				return Sets{}, fmt.Errorf("match_sets[%d].rules[%d].regex: %w", i, j, err)
			}
			rs = append(rs, rule{field: r.Field, objType: r.ObjType, re: re})
		}
		out.sets = append(out.sets, rs)
	}
	return out, nil
}

// Empty reports whether there are no sets: scope then comes from the
// credentials config alone.
func (s Sets) Empty() bool { return len(s.sets) == 0 }

// Match reports whether any set matches the URL and the request's field and
// obj_type. A rule's field or obj_type matches when empty in the rule or
// equal to the request's.
func (s Sets) Match(url, field, objType string) bool {
	for _, set := range s.sets {
		ok := true
		for _, r := range set {
			if (r.field != "" && r.field != field) || (r.objType != "" && r.objType != objType) || !r.re.MatchString(url) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
