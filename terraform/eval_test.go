package terraform

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// evaluator evaluates a module's expressions as Terraform would with every
// variable at its default (no default: unknown) and every local it can compute.
// It knows the handful of Terraform functions the modules' locals use; an
// expression needing anything else evaluates to unknown, and a test that needs
// its value fails saying so.
type evaluator struct {
	ctx *hcl.EvalContext
}

var tfFunctions = map[string]function.Function{
	"coalesce":   stdlib.CoalesceFunc,
	"concat":     stdlib.ConcatFunc,
	"contains":   stdlib.ContainsFunc,
	"format":     stdlib.FormatFunc,
	"jsonencode": stdlib.JSONEncodeFunc,
	"length":     stdlib.LengthFunc,
	"lower":      stdlib.LowerFunc,
	"max":        stdlib.MaxFunc,
	"merge":      stdlib.MergeFunc,
	"min":        stdlib.MinFunc,
	"upper":      stdlib.UpperFunc,
	"try":        tryfunc.TryFunc,
	"can":        tryfunc.CanFunc,
	"regex":      stdlib.RegexFunc,
	"endswith":   endsWithFunc,
	"alltrue":    allTrueFunc,
}

// Terraform functions go-cty's stdlib lacks.
var (
	allTrueFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			out := cty.True
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				out = out.And(v)
			}
			return out, nil
		},
	})
	endsWithFunc = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "s", Type: cty.String}, {Name: "suffix", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(strings.HasSuffix(args[0].AsString(), args[1].AsString())), nil
		},
	})
)

func newEvaluator(c tfConfig) *evaluator {
	vars := map[string]cty.Value{}
	for _, b := range c.Blocks {
		if b.Type != "variable" || len(b.Labels) != 1 {
			continue
		}
		v := cty.DynamicVal
		if d, ok := literal(attr(b.Body, "default")); ok {
			v = d
		}
		vars[b.Labels[0]] = v
	}
	e := &evaluator{ctx: &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(vars),
			"local": cty.EmptyObjectVal,
			"path":  cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(".")}),
		},
		Functions: tfFunctions,
	}}
	// Locals may refer to each other: evaluate until nothing new is known.
	locals := map[string]cty.Value{}
	for changed := true; changed; {
		changed = false
		for _, b := range c.Blocks {
			if b.Type != "locals" {
				continue
			}
			for name, a := range b.Body.Attributes {
				if _, done := locals[name]; done {
					continue
				}
				v, diags := a.Expr.Value(e.ctx)
				if diags.HasErrors() || !v.IsWhollyKnown() {
					continue
				}
				locals[name] = v
				changed = true
			}
		}
		e.ctx.Variables["local"] = cty.ObjectVal(locals)
	}
	return e
}

// validates reports whether every validation of a variable accepts v.
func (e *evaluator) validates(t *testing.T, c tfConfig, name string, v cty.Value) bool {
	t.Helper()
	vb := c.one(t, "variable", name)
	vars := e.ctx.Variables["var"].AsValueMap()
	vars[name] = v
	ctx := e.ctx.NewChild()
	ctx.Variables = map[string]cty.Value{"var": cty.ObjectVal(vars)}
	ok := true
	for _, val := range sub(vb.Body, "validation") {
		r, diags := attr(val, "condition").Expr.Value(ctx)
		if diags.HasErrors() || !r.IsKnown() || r.IsNull() {
			t.Fatalf("%s: validation can't be evaluated: %v", vb, diags)
		}
		ok = ok && r.True()
	}
	return ok
}

// value evaluates an attribute, failing the test when it can't be known.
func (e *evaluator) value(t *testing.T, where string, a *hclsyntax.Attribute) cty.Value {
	t.Helper()
	if a == nil {
		t.Fatalf("%s: attribute missing", where)
	}
	v, diags := a.Expr.Value(e.ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		t.Fatalf("%s (%s): can't be evaluated from the defaults: %v", where, at(a.SrcRange), diags)
	}
	return v
}

// number evaluates an attribute to a whole number.
func (e *evaluator) number(t *testing.T, where string, a *hclsyntax.Attribute) int64 {
	t.Helper()
	v := e.value(t, where, a)
	if v.Type() != cty.Number {
		t.Fatalf("%s: want a number, got %s", where, v.Type().FriendlyName())
	}
	n, _ := v.AsBigFloat().Int64()
	return n
}

// str evaluates an attribute to a string.
func (e *evaluator) str(t *testing.T, where string, a *hclsyntax.Attribute) string {
	t.Helper()
	v := e.value(t, where, a)
	if v.Type() != cty.String {
		t.Fatalf("%s: want a string, got %s", where, v.Type().FriendlyName())
	}
	return v.AsString()
}

// traversal renders a reference such as aws_sqs_queue.cleanup_dlq.arn; "" for any other expression.
func traversal(e hclsyntax.Expression) string {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok {
		return ""
	}
	out := ""
	for _, step := range st.Traversal {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			out = s.Name
		case hcl.TraverseAttr:
			out += "." + s.Name
		case hcl.TraverseIndex:
			out += "[*]"
		default:
			return ""
		}
	}
	return out
}

// objectArg returns the items of the object passed to a function call such as jsonencode({...}),
// keyed by their literal names.
func objectArg(t *testing.T, where, fn string, e hclsyntax.Expression) map[string]hclsyntax.Expression {
	t.Helper()
	call, ok := e.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != fn || len(call.Args) != 1 {
		t.Fatalf("%s: want %s({...})", where, fn)
	}
	obj, ok := call.Args[0].(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatalf("%s: want %s of an object literal", where, fn)
	}
	items := map[string]hclsyntax.Expression{}
	for _, it := range obj.Items {
		k, diags := it.KeyExpr.Value(nil)
		if diags.HasErrors() || k.Type() != cty.String {
			t.Fatalf("%s: object keys must be literal names", where)
		}
		items[k.AsString()] = it.ValueExpr
	}
	return items
}
