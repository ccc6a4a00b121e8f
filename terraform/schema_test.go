package terraform

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The hashicorp/aws and hashicorp/google providers can't be installed here (no
// registry, and the module proxy serves no usable version), so `terraform
// validate` can't check those blocks. Their schemas are published all the
// same: the CDK for Terraform bindings (@cdktf/provider-aws 21.22.1 is
// hashicorp/aws 6.25.0, @cdktf/provider-google 16.12.1 is hashicorp/google
// 6.50.0) carry a .jsii file with one Config struct per resource and data
// source, every argument and nested block in it, optional or required.
// TestProviderSchemas reads those files (tools.sh provider-schemas) and checks
// every aws_* and google_* block of every module and example against them, as
// validate would: an unknown argument or block fails, and so does a missing
// required one. Azure needs none of this: the real azurerm provider validates
// its blocks (scripts/terraform-check.sh).

// schema is one provider's index: resource and data source type to its Config
// struct, and every struct reachable from those.
type schema struct {
	Resources map[string]string
	Data      map[string]string
	Structs   map[string]*structSchema
}

type structSchema struct {
	Attrs  map[string]bool         // argument name -> required
	Blocks map[string]*blockSchema // nested block name -> its struct
}

type blockSchema struct {
	Required bool
	Struct   string
}

type jsiiDocs struct {
	Summary string `json:"summary"`
	Remarks string `json:"remarks"`
}

type jsiiType struct {
	Kind       string         `json:"kind"`
	Docs       jsiiDocs       `json:"docs"`
	Properties []jsiiProperty `json:"properties"`
}

type jsiiProperty struct {
	Name     string          `json:"name"`
	Optional bool            `json:"optional"`
	Static   bool            `json:"static"`
	Type     json.RawMessage `json:"type"`
	Docs     jsiiDocs        `json:"docs"`
}

type jsiiTypeRef struct {
	FQN        string `json:"fqn"`
	Collection *struct {
		Element json.RawMessage `json:"elementtype"`
	} `json:"collection"`
	Union *struct {
		Types []json.RawMessage `json:"types"`
	} `json:"union"`
}

var (
	// A class's summary links its Terraform type: ".../docs/resources/lambda_function_url aws_lambda_function_url}".
	classLink = regexp.MustCompile(`/docs/(resources|data-sources)/[a-z0-9_]+ ([a-z0-9_]+)\}`)
	// A property's docs link its argument: "...lambda_function_url#authorization_type LambdaFunctionUrl#...".
	argLink = regexp.MustCompile(`#([a-z0-9_]+) `)
	camel   = regexp.MustCompile(`[A-Z]`)
)

// structRef finds the struct a property's type names, through lists and unions.
func structRef(raw json.RawMessage) string {
	var r jsiiTypeRef
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	switch {
	case r.FQN != "" && r.FQN != "cdktf.IResolvable":
		return r.FQN
	case r.Collection != nil:
		return structRef(r.Collection.Element)
	case r.Union != nil:
		for _, u := range r.Union.Types {
			if s := structRef(u); s != "" {
				return s
			}
		}
	}
	return ""
}

// argName is a property's Terraform name: the anchor of its registry link (jsii renames
// arguments that clash with its own words), else the camelCase name in snake_case.
func argName(p jsiiProperty) string {
	if m := argLink.FindStringSubmatch(p.Docs.Summary + " " + p.Docs.Remarks + " "); m != nil {
		return m[1]
	}
	return camel.ReplaceAllStringFunc(p.Name, func(s string) string { return "_" + strings.ToLower(s) })
}

func loadSchema(path string) (*schema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var assembly struct {
		Types map[string]jsiiType `json:"types"`
	}
	if err := json.Unmarshal(raw, &assembly); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	s := &schema{Resources: map[string]string{}, Data: map[string]string{}, Structs: map[string]*structSchema{}}
	for fqn, ty := range assembly.Types {
		if ty.Kind != "class" {
			continue
		}
		if m := classLink.FindStringSubmatch(ty.Docs.Summary); m != nil {
			if m[1] == "resources" {
				s.Resources[m[2]] = fqn + "Config"
			} else {
				s.Data[m[2]] = fqn + "Config"
			}
		}
	}
	var index func(fqn string)
	index = func(fqn string) {
		if _, done := s.Structs[fqn]; done {
			return
		}
		st := &structSchema{Attrs: map[string]bool{}, Blocks: map[string]*blockSchema{}}
		s.Structs[fqn] = st
		for _, p := range assembly.Types[fqn].Properties {
			if p.Static {
				continue
			}
			name := argName(p)
			if strings.HasSuffix(p.Docs.Summary, " block.") {
				ref := structRef(p.Type)
				st.Blocks[name] = &blockSchema{Required: !p.Optional, Struct: ref}
				if ref != "" {
					index(ref)
				}
			} else {
				st.Attrs[name] = !p.Optional
			}
		}
	}
	for _, m := range []map[string]string{s.Resources, s.Data} {
		for _, fqn := range m {
			index(fqn)
		}
	}
	if len(s.Resources) < 100 {
		return nil, fmt.Errorf("%s: only %d resources found: not a provider's .jsii", path, len(s.Resources))
	}
	return s, nil
}

var (
	schemasOnce sync.Once
	schemas     map[string]*schema
	schemasErr  error
)

// providerSchemas loads aws.jsii and google.jsii once per test binary (about 230 MB of JSON).
func providerSchemas(t *testing.T) map[string]*schema {
	t.Helper()
	dir := requireTool(t, "provider-schemas")
	schemasOnce.Do(func() {
		schemas = map[string]*schema{}
		for _, p := range []string{"aws", "google"} {
			s, err := loadSchema(filepath.Join(dir, p+".jsii"))
			if err != nil {
				schemasErr = err
				return
			}
			schemas[p] = s
		}
	})
	if schemasErr != nil {
		t.Fatal(schemasErr)
	}
	return schemas
}

// Meta-arguments and blocks Terraform itself defines for every resource and data source.
var (
	metaArgs   = map[string]bool{"count": true, "for_each": true, "provider": true, "depends_on": true}
	metaBlocks = map[string]bool{"lifecycle": true, "provisioner": true, "connection": true, "precondition": true, "postcondition": true}
)

// checkBody reports each argument or block of body that st does not define and each
// required one body lacks. top is true for a resource's own body (meta-arguments allowed).
func checkBody(s *schema, st *structSchema, body *hclsyntax.Body, where string, top bool) []string {
	var errs []string
	for name, a := range body.Attributes {
		if top && metaArgs[name] {
			continue
		}
		if _, ok := st.Attrs[name]; !ok {
			if _, isBlock := st.Blocks[name]; isBlock {
				errs = append(errs, fmt.Sprintf("%s: %s is a nested block, not an argument (%s)", where, name, at(a.SrcRange)))
			} else {
				errs = append(errs, fmt.Sprintf("%s: unknown argument %q (%s)", where, name, at(a.SrcRange)))
			}
		}
	}
	present := map[string]bool{}
	for _, nb := range body.Blocks {
		typ, content := nb.Type, []*hclsyntax.Body{nb.Body}
		if top && metaBlocks[typ] {
			continue
		}
		if typ == "dynamic" && len(nb.Labels) == 1 {
			typ, content = nb.Labels[0], sub(body, nb.Labels[0])
		}
		bs, ok := st.Blocks[typ]
		if !ok {
			kind := "block"
			if _, isAttr := st.Attrs[typ]; isAttr {
				kind = "block (it is an argument: write `" + typ + " = ...`)"
			}
			errs = append(errs, fmt.Sprintf("%s: unknown nested %s %q (%s)", where, kind, typ, at(nb.TypeRange)))
			continue
		}
		present[typ] = true
		if bs.Struct == "" {
			continue
		}
		for _, c := range content {
			errs = append(errs, checkBody(s, s.Structs[bs.Struct], c, where+"."+typ, false)...)
		}
	}
	for name, req := range st.Attrs {
		if req && body.Attributes[name] == nil {
			errs = append(errs, fmt.Sprintf("%s: required argument %q is missing", where, name))
		}
	}
	for name, bs := range st.Blocks {
		if bs.Required && !present[name] {
			errs = append(errs, fmt.Sprintf("%s: required block %q is missing", where, name))
		}
	}
	sort.Strings(errs)
	return errs
}

// TestProviderSchemas checks every aws_* and google_* resource and data block of
// every module and example against the provider's published schema.
func TestProviderSchemas(t *testing.T) {
	all := providerSchemas(t)
	checked := 0
	for _, dir := range modules(t) {
		c := load(t, dir)
		for _, b := range c.Blocks {
			if (b.Type != "resource" && b.Type != "data") || len(b.Labels) != 2 {
				continue
			}
			provider, _, _ := strings.Cut(b.Labels[0], "_")
			s := all[provider]
			if s == nil {
				continue // azurerm: validated by the real provider in scripts/terraform-check.sh
			}
			types := s.Resources
			if b.Type == "data" {
				types = s.Data
			}
			fqn, ok := types[b.Labels[0]]
			if !ok {
				t.Errorf("%s: hashicorp/%s has no %s type %q", b, provider, b.Type, b.Labels[0])
				continue
			}
			for _, e := range checkBody(s, s.Structs[fqn], b.Body, b.String(), true) {
				t.Error(e)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no aws_* or google_* blocks found: the check proves nothing")
	}
	t.Logf("%d aws and google blocks checked against the providers' schemas", checked)
}

// TestSchemaCheckerCatchesMistakes proves the checker fails what validate would.
func TestSchemaCheckerCatchesMistakes(t *testing.T) {
	s := providerSchemas(t)["aws"]
	cases := map[string]string{
		`resource "aws_lambda_function_url" "x" {
  function_name      = "f"
  authorization_type = "NONE"
  invoke_mode        = "BUFFERED"
}`: "",
		`resource "aws_lambda_function_url" "x" {
  function_name = "f"
}`: `required argument "authorization_type" is missing`,
		`resource "aws_lambda_function_url" "x" {
  function_name      = "f"
  authorization_type = "NONE"
  auth_type          = "NONE"
}`: `unknown argument "auth_type"`,
		`resource "aws_lambda_function_url" "x" {
  function_name      = "f"
  authorization_type = "NONE"
  cors { allowed_origins = ["https://a"] }
}`: `cors: unknown argument "allowed_origins"`,
		`resource "aws_sqs_queue" "x" {
  redrive_policy { dead_letter = "x" }
}`: `unknown nested block (it is an argument`,
		`resource "aws_lambda_event_source_mapping" "x" {
  function_name = "f"
  dynamic "scaling_config" {
    for_each = [1]
    content {
      maximum_concurrency = 2
      bogus               = 1
    }
  }
}`: `scaling_config: unknown argument "bogus"`,
	}
	for src, want := range cases {
		f, diags := hclsyntax.ParseConfig([]byte(src), "case.tf", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", src, diags)
		}
		b := f.Body.(*hclsyntax.Body).Blocks[0]
		errs := checkBody(s, s.Structs[s.Resources[b.Labels[0]]], b.Body, "case", true)
		got := strings.Join(errs, "\n")
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("%s\n got: %q\nwant: %q", src, got, want)
		}
	}
}
