// Package terraform holds the Go tests of the deploy modules and examples
// beside it: their blocks checked against the providers' published schemas
// (schema_test.go), the wiring that matters asserted (wiring_test.go), and the
// artifacts `make package` builds for them (package_test.go). Terraform's own
// checks (fmt, tflint, validate and test against azurerm) run from
// scripts/terraform-check.sh.
package terraform

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// block is one top-level block of a configuration: resource, data, variable, ...
type block struct {
	File   string
	Type   string
	Labels []string
	Body   *hclsyntax.Body
	src    []byte
}

func (b block) String() string {
	return b.File + ": " + b.Type + " " + strings.Join(b.Labels, ".")
}

// tfConfig is one folder of .tf files, as Terraform reads it.
type tfConfig struct {
	Dir    string
	Blocks []block
}

// load parses every .tf file of dir (one Terraform module).
func load(t *testing.T, dir string) tfConfig {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no .tf files (%v)", dir, err)
	}
	sort.Strings(files)
	p := hclparse.NewParser()
	c := tfConfig{Dir: dir}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, diags := p.ParseHCL(src, f)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", f, diags.Error())
		}
		for _, b := range file.Body.(*hclsyntax.Body).Blocks {
			c.Blocks = append(c.Blocks, block{File: f, Type: b.Type, Labels: b.Labels, Body: b.Body, src: src})
		}
	}
	return c
}

// of returns the blocks of one kind ("resource", "data") and first label.
func (c tfConfig) of(kind, typ string) []block {
	var out []block
	for _, b := range c.Blocks {
		if b.Type == kind && len(b.Labels) > 0 && b.Labels[0] == typ {
			out = append(out, b)
		}
	}
	return out
}

// one returns the only block of a kind and type, failing the test otherwise.
func (c tfConfig) one(t *testing.T, kind, typ string) block {
	t.Helper()
	bs := c.of(kind, typ)
	if len(bs) != 1 {
		t.Fatalf("%s: want exactly one %s %q, found %d", c.Dir, kind, typ, len(bs))
	}
	return bs[0]
}

// modules lists the folders under terraform/ that hold .tf files: every module and example.
func modules(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, pattern := range []string{"modules/*", "examples/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range m {
			if tf, _ := filepath.Glob(filepath.Join(d, "*.tf")); len(tf) > 0 {
				dirs = append(dirs, d)
			}
		}
	}
	if len(dirs) == 0 {
		t.Fatal("no modules or examples under terraform/")
	}
	return dirs
}

// attr returns a body's attribute, or nil.
func attr(b *hclsyntax.Body, name string) *hclsyntax.Attribute {
	return b.Attributes[name]
}

// sub returns the nested blocks of a type, looking through `dynamic` blocks to their content.
func sub(b *hclsyntax.Body, typ string) []*hclsyntax.Body {
	var out []*hclsyntax.Body
	for _, nb := range b.Blocks {
		switch {
		case nb.Type == typ:
			out = append(out, nb.Body)
		case nb.Type == "dynamic" && len(nb.Labels) == 1 && nb.Labels[0] == typ:
			for _, c := range nb.Body.Blocks {
				if c.Type == "content" {
					out = append(out, c.Body)
				}
			}
		}
	}
	return out
}

// literal evaluates an expression that needs no variables, references or functions.
func literal(a *hclsyntax.Attribute) (cty.Value, bool) {
	if a == nil {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// literalString is literal for a string attribute; "" and false when it is not one.
func literalString(a *hclsyntax.Attribute) (string, bool) {
	v, ok := literal(a)
	if !ok || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// literalStrings is literal for a list of strings.
func literalStrings(a *hclsyntax.Attribute) ([]string, bool) {
	v, ok := literal(a)
	if !ok || v.IsNull() || !(v.Type().IsTupleType() || v.Type().IsListType() || v.Type().IsSetType()) {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.Type() != cty.String {
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// source is the expression's text as written.
func (b block) source(e hclsyntax.Expression) string {
	r := e.Range()
	return string(r.SliceBytes(b.src))
}

// at names an attribute's place for a failure message.
func at(r hcl.Range) string {
	return r.String()
}

// repoRoot is the repository root (tests run in terraform/).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// requireTool returns the folder or binary of a pinned tool from scripts/tools.sh. Missing, it
// fails the test under CI=true and skips it elsewhere, saying what to run.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(repoRoot(t), "scripts", "tools.sh"), "where", name).Output()
	path := strings.TrimSpace(string(out))
	if err != nil {
		msg := name + " is not installed at " + path + ": run `scripts/tools.sh install " + name + "` (make tools)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
		}
		t.Skip("skipping: " + msg)
	}
	return path
}
