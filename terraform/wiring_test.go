package terraform

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/enqueue"
)

// The wiring that matters, asserted on the modules as written: what the
// functions read and what the platforms require of them. A deploy that passes
// validate but wires a queue to nothing, or hands a function a setting it never
// reads, fails here.

// configEnv is every environment variable through which the functions take their configuration.
var configEnv = []string{config.EnvInline, config.EnvFile, config.EnvSecret}

// sweepEnv is what the sweep functions also read: the cleanup queue (as `storagegate enqueue` does),
// and on Azure the timer's schedule, which the Functions host resolves in Sweep/function.json.
var sweepEnv = []string{enqueue.EnvSQSQueueURL, enqueue.EnvPubSubTopic, enqueue.EnvAzureQueue, "STORAGEGATE_SWEEP_SCHEDULE"}

// checkEnvNames fails for a configuration variable the functions do not read, and
// unless exactly `want` of them is set.
func checkEnvNames(t *testing.T, where string, vars map[string]bool, want string) {
	t.Helper()
	for name := range vars {
		if strings.HasPrefix(name, "STORAGEGATE_") && !slices.Contains(configEnv, name) && !slices.Contains(sweepEnv, name) {
			t.Errorf("%s: sets %s, which no function reads (they read %v)", where, name, configEnv)
		}
	}
	if !vars[want] {
		t.Errorf("%s: does not set %s", where, want)
	}
}

// objectKeys lists the literal keys of an object constructor (environment variables, app settings).
func objectKeys(t *testing.T, where string, a *hclsyntax.Attribute) map[string]hclsyntax.Expression {
	t.Helper()
	if a == nil {
		t.Fatalf("%s: missing", where)
	}
	obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatalf("%s: want an object literal, so that its keys can be checked", where)
	}
	keys := map[string]hclsyntax.Expression{}
	for _, it := range obj.Items {
		k, diags := it.KeyExpr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("%s: keys must be literal", where)
		}
		keys[k.AsString()] = it.ValueExpr
	}
	return keys
}

func TestAWSWiring(t *testing.T) {
	c := load(t, "modules/aws")
	e := newEvaluator(c)

	// The presign function URL: no IAM auth (the ClearML check is the authentication) and BUFFERED,
	// the invoke mode functions/aws/presign answers (lambdaurl.Start would be RESPONSE_STREAM).
	u := c.one(t, "resource", "aws_lambda_function_url")
	if v, _ := literalString(attr(u.Body, "authorization_type")); v != "NONE" {
		t.Errorf("%s: authorization_type = %q, want NONE", u, v)
	}
	if v, _ := literalString(attr(u.Body, "invoke_mode")); v != "BUFFERED" {
		t.Errorf("%s: invoke_mode = %q, want BUFFERED", u, v)
	}

	// Both functions: the runtime and handler `make package` builds for, and only the config
	// variables the functions read.
	fns := map[string]block{}
	for _, f := range c.of("resource", "aws_lambda_function") {
		fns[f.Labels[1]] = f
		if v, _ := literalString(attr(f.Body, "runtime")); v != "provided.al2023" {
			t.Errorf("%s: runtime = %q, want provided.al2023", f, v)
		}
		if v, _ := literalString(attr(f.Body, "handler")); v != "bootstrap" {
			t.Errorf("%s: handler = %q, want bootstrap (the zip's only file)", f, v)
		}
		envs := sub(f.Body, "environment")
		if len(envs) != 1 {
			t.Fatalf("%s: want one environment block", f)
		}
		vars := map[string]bool{}
		for k := range objectKeys(t, f.String()+".environment.variables", attr(envs[0], "variables")) {
			vars[k] = true
		}
		checkEnvNames(t, f.String(), vars, config.EnvSecret)
	}
	if fns["presign"].Body == nil || fns["cleanup"].Body == nil || len(fns) > 3 {
		t.Fatalf("want the functions presign and cleanup, found %v", slices.Sorted(maps.Keys(fns)))
	}
	if got := traversal(attr(u.Body, "function_name").Expr); got != "aws_lambda_function.presign.function_name" {
		t.Errorf("%s: function_name = %s, want the presign function's", u, got)
	}

	// The cleanup queue redrives to the dead-letter queue after max_receive_count receives, and
	// its visibility timeout is at least six times the function's timeout (AWS's advice for an
	// SQS event source: a retried batch must not reappear while it still runs).
	var queue, dlq block
	for _, q := range c.of("resource", "aws_sqs_queue") {
		if a := attr(q.Body, "redrive_policy"); a != nil {
			queue = q
			items := objectArg(t, q.String()+".redrive_policy", "jsonencode", a.Expr)
			target := traversal(items["deadLetterTargetArn"])
			name := strings.TrimSuffix(strings.TrimPrefix(target, "aws_sqs_queue."), ".arn")
			for _, d := range c.of("resource", "aws_sqs_queue") {
				if d.Labels[1] == name && name != q.Labels[1] {
					dlq = d
				}
			}
			if dlq.Body == nil {
				t.Errorf("%s: redrive target %q is not another queue of the module", q, target)
			}
			if got := traversal(items["maxReceiveCount"]); got != "var.max_receive_count" {
				t.Errorf("%s: maxReceiveCount = %s, want var.max_receive_count", q, got)
			}
		}
	}
	if queue.Body == nil {
		t.Fatal("no SQS queue with a redrive policy")
	}
	vis := e.number(t, queue.String()+".visibility_timeout_seconds", attr(queue.Body, "visibility_timeout_seconds"))
	timeout := e.number(t, fns["cleanup"].String()+".timeout", attr(fns["cleanup"].Body, "timeout"))
	if vis < 6*timeout {
		t.Errorf("cleanup queue visibility timeout %d s < 6 x the function's %d s", vis, timeout)
	}

	// The event source mapping: the cleanup queue to the cleanup function, reporting batch item
	// failures (functions/aws/cleanup answers only the failed records; without this response
	// type Lambda would delete the whole batch, failed messages included).
	m := c.one(t, "resource", "aws_lambda_event_source_mapping")
	if v, ok := literalStrings(attr(m.Body, "function_response_types")); !ok || !slices.Equal(v, []string{"ReportBatchItemFailures"}) {
		t.Errorf("%s: function_response_types = %v, want [ReportBatchItemFailures]", m, v)
	}
	if got, want := traversal(attr(m.Body, "event_source_arn").Expr), "aws_sqs_queue."+queue.Labels[1]+".arn"; got != want {
		t.Errorf("%s: event_source_arn = %s, want %s", m, got, want)
	}
	if got := traversal(attr(m.Body, "function_name").Expr); !strings.HasPrefix(got, "aws_lambda_function.cleanup.") {
		t.Errorf("%s: function_name = %s, want the cleanup function", m, got)
	}

	checkAWSPolicies(t, c)
	grants := awsGrants(t, c)
	for role, want := range map[string][]string{
		"presign": {"logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue"},
		"cleanup": {"logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue",
			"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
	} {
		for _, a := range want {
			if !grants[role][a] {
				t.Errorf("role %s: lacks %s", role, a)
			}
		}
	}
	for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "s3:DeleteObject"} {
		if grants["presign"][a] {
			t.Errorf("role presign: holds %s, which only cleanup needs", a)
		}
	}

	// The custom domain: CloudFront with caching off, forwarding every viewer header but Host
	// (Cookie and Authorization reach the function; a function URL refuses a foreign Host).
	policies := map[string]string{}
	for _, typ := range []string{"aws_cloudfront_cache_policy", "aws_cloudfront_origin_request_policy"} {
		b := c.one(t, "data", typ)
		policies[typ], _ = literalString(attr(b.Body, "name"))
	}
	if policies["aws_cloudfront_cache_policy"] != "Managed-CachingDisabled" ||
		policies["aws_cloudfront_origin_request_policy"] != "Managed-AllViewerExceptHostHeader" {
		t.Errorf("CloudFront policies = %v, want Managed-CachingDisabled and Managed-AllViewerExceptHostHeader", policies)
	}
}

// checkAWSPolicies: every policy is a policy document with literal actions, no wildcard action and
// no "*" resource, and every role policy is one of those documents.
func checkAWSPolicies(t *testing.T, c tfConfig) {
	t.Helper()
	docs := c.of("data", "aws_iam_policy_document")
	if len(docs) == 0 {
		t.Fatal("no aws_iam_policy_document")
	}
	for _, d := range docs {
		for _, st := range sub(d.Body, "statement") {
			actions, ok := literalStrings(attr(st, "actions"))
			if !ok || len(actions) == 0 {
				t.Errorf("%s: a statement's actions must be a literal, non-empty list", d)
			}
			for _, a := range actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %q", d, a)
				}
			}
			if attr(st, "not_actions") != nil || attr(st, "not_resources") != nil {
				t.Errorf("%s: not_actions/not_resources grant everything else", d)
			}
			if len(sub(st, "principals")) > 0 {
				continue // a trust policy names principals, not resources
			}
			r := attr(st, "resources")
			if r == nil {
				t.Errorf("%s: a statement without resources applies to every resource", d)
				continue
			}
			if list, ok := literalStrings(r); ok && slices.Contains(list, "*") {
				t.Errorf("%s: resource \"*\"", d)
			}
			if tuple, ok := r.Expr.(*hclsyntax.TupleConsExpr); ok {
				for _, el := range tuple.Exprs {
					if v, diags := el.Value(nil); !diags.HasErrors() && v.AsString() == "*" {
						t.Errorf("%s: resource \"*\"", d)
					}
				}
			}
		}
	}
	for _, typ := range []string{"aws_iam_role_policy", "aws_iam_policy"} {
		for _, p := range c.of("resource", typ) {
			ref := traversal(attr(p.Body, "policy").Expr)
			if !regexp.MustCompile(`^data\.aws_iam_policy_document\.[a-z_]+(\[\*\])?\.json$`).MatchString(ref) {
				t.Errorf("%s: policy must be an aws_iam_policy_document's json, is %s", p, ref)
			}
		}
	}
	for _, r := range c.of("resource", "aws_iam_role") {
		if ref := traversal(attr(r.Body, "assume_role_policy").Expr); !strings.HasPrefix(ref, "data.aws_iam_policy_document.") {
			t.Errorf("%s: assume_role_policy must be a policy document, is %s", r, ref)
		}
	}
	// Variables that become IAM resources refuse wildcards.
	e := newEvaluator(c)
	for name, bad := range map[string]string{
		"artifact_bucket_arns": "arn:aws:s3:::*",
		"kms_key_arns":         "arn:aws:kms:eu-west-1:123456789012:key/*",
	} {
		if e.validates(t, c, name, cty.ListVal([]cty.Value{cty.StringVal(bad)})) {
			t.Errorf("variable %s accepts %q: its values are resources of IAM statements", name, bad)
		}
	}
	if !e.validates(t, c, "artifact_bucket_arns", cty.ListVal([]cty.Value{cty.StringVal("arn:aws:s3:::my-artifacts")})) {
		t.Error("variable artifact_bucket_arns refuses a plain bucket ARN")
	}
}

// awsGrants maps each role (by its resource name) to the actions its role policy's document (and
// the documents it merges through source_policy_documents) grants.
func awsGrants(t *testing.T, c tfConfig) map[string]map[string]bool {
	t.Helper()
	docs := map[string]block{}
	for _, d := range c.of("data", "aws_iam_policy_document") {
		docs[d.Labels[1]] = d
	}
	var actions func(name string, seen map[string]bool) map[string]bool
	actions = func(name string, seen map[string]bool) map[string]bool {
		out := map[string]bool{}
		d, ok := docs[name]
		if !ok || seen[name] {
			return out
		}
		seen[name] = true
		for _, st := range sub(d.Body, "statement") {
			list, _ := literalStrings(attr(st, "actions"))
			for _, a := range list {
				out[a] = true
			}
		}
		if src := attr(d.Body, "source_policy_documents"); src != nil {
			for _, m := range regexp.MustCompile(`data\.aws_iam_policy_document\.([a-z_]+)`).FindAllStringSubmatch(d.source(src.Expr), -1) {
				for a := range actions(m[1], seen) {
					out[a] = true
				}
			}
		}
		return out
	}
	grants := map[string]map[string]bool{}
	for _, p := range c.of("resource", "aws_iam_role_policy") {
		role := strings.TrimSuffix(strings.TrimPrefix(traversal(attr(p.Body, "role").Expr), "aws_iam_role."), ".id")
		role = strings.TrimSuffix(role, ".name")
		doc := strings.TrimSuffix(strings.TrimPrefix(traversal(attr(p.Body, "policy").Expr), "data.aws_iam_policy_document."), ".json")
		if grants[role] == nil {
			grants[role] = map[string]bool{}
		}
		for a := range actions(doc, map[string]bool{}) {
			grants[role][a] = true
		}
	}
	return grants
}

func TestGCPWiring(t *testing.T) {
	c := load(t, "modules/gcp")
	e := newEvaluator(c)
	registered := gcpRegisteredFunctions(t)

	// Both functions: entry points the Go package registers, the config from Secret Manager
	// under the variable the functions read, never as a plain environment variable.
	entries := map[string]bool{}
	for _, f := range c.of("resource", "google_cloudfunctions2_function") {
		bc := sub(f.Body, "build_config")
		if len(bc) != 1 {
			t.Fatalf("%s: want one build_config", f)
		}
		ep, _ := literalString(attr(bc[0], "entry_point"))
		if !registered[ep] {
			t.Errorf("%s: entry_point %q is not a function functions/gcp registers (%v)", f, ep, registered)
		}
		entries[ep] = true
		sc := sub(f.Body, "service_config")
		if len(sc) != 1 {
			t.Fatalf("%s: want one service_config", f)
		}
		secrets := map[string]bool{}
		for _, s := range sub(sc[0], "secret_environment_variables") {
			secrets[e.str(t, f.String()+".secret_environment_variables.key", attr(s, "key"))] = true
		}
		checkEnvNames(t, f.String(), secrets, config.EnvInline)
		if a := attr(sc[0], "environment_variables"); a != nil {
			for k := range objectKeys(t, f.String()+".environment_variables", a) {
				if slices.Contains(configEnv, k) {
					t.Errorf("%s: %s as a plain environment variable: the config holds secrets", f, k)
				}
			}
		}
	}
	for name := range registered {
		if !entries[name] {
			t.Errorf("functions/gcp registers %s, but the module deploys no function with that entry point", name)
		}
	}

	// Cleanup's subscription: pushes to the function with an OIDC identity, retries, and moves a
	// message that keeps failing to the dead-letter topic after max_delivery_attempts.
	var push block
	for _, s := range c.of("resource", "google_pubsub_subscription") {
		if len(sub(s.Body, "push_config")) == 1 && s.Labels[1] != "sweep" {
			push = s
		}
	}
	if push.Body == nil {
		t.Fatal("no push subscription for cleanup")
	}
	pc := sub(push.Body, "push_config")[0]
	if len(sub(pc, "oidc_token")) != 1 {
		t.Errorf("%s: push without an OIDC token: the cleanup function is not public", push)
	}
	if len(sub(push.Body, "retry_policy")) != 1 {
		t.Errorf("%s: no retry_policy", push)
	}
	dl := sub(push.Body, "dead_letter_policy")
	if len(dl) != 1 {
		t.Fatalf("%s: no dead_letter_policy", push)
	}
	dlTopic := traversal(attr(dl[0], "dead_letter_topic").Expr)
	if !strings.HasPrefix(dlTopic, "google_pubsub_topic.") || dlTopic == traversal(attr(push.Body, "topic").Expr) {
		t.Errorf("%s: dead_letter_topic = %s, want another topic of the module", push, dlTopic)
	}
	if n := e.number(t, push.String()+".dead_letter_policy.max_delivery_attempts", attr(dl[0], "max_delivery_attempts")); n < 5 || n > 100 {
		t.Errorf("%s: max_delivery_attempts %d outside Pub/Sub's 5..100", push, n)
	}
	ack := e.number(t, push.String()+".ack_deadline_seconds", attr(push.Body, "ack_deadline_seconds"))
	var cleanupTimeout int64
	for _, f := range c.of("resource", "google_cloudfunctions2_function") {
		if ep, _ := literalString(attr(sub(f.Body, "build_config")[0], "entry_point")); ep == "Cleanup" {
			cleanupTimeout = e.number(t, f.String()+".timeout_seconds", attr(sub(f.Body, "service_config")[0], "timeout_seconds"))
		}
	}
	if ack < cleanupTimeout {
		t.Errorf("ack deadline %d s < the cleanup function's timeout %d s: Pub/Sub would redeliver a running message", ack, cleanupTimeout)
	}

	// Dead-lettering needs the Pub/Sub service agent to publish to the dead-letter topic and to
	// subscribe to the source subscription.
	dlName := strings.TrimSuffix(strings.TrimPrefix(dlTopic, "google_pubsub_topic."), ".id")
	found := map[string]bool{}
	for _, m := range c.of("resource", "google_pubsub_topic_iam_member") {
		if role, _ := literalString(attr(m.Body, "role")); role == "roles/pubsub.publisher" &&
			strings.HasPrefix(traversal(attr(m.Body, "topic").Expr), "google_pubsub_topic."+dlName+".") {
			found["publisher"] = true
		}
	}
	for _, m := range c.of("resource", "google_pubsub_subscription_iam_member") {
		if role, _ := literalString(attr(m.Body, "role")); role == "roles/pubsub.subscriber" &&
			strings.HasPrefix(traversal(attr(m.Body, "subscription").Expr), "google_pubsub_subscription."+push.Labels[1]+".") {
			found["subscriber"] = true
		}
	}
	if !found["publisher"] || !found["subscriber"] {
		t.Errorf("the Pub/Sub service agent's dead-letter roles: found %v, want publisher on the dead-letter topic and subscriber on %s", found, push)
	}

	// Least privilege: no basic roles, custom roles list their permissions without wildcards,
	// and the presign identity may sign as itself and nothing more.
	for _, b := range c.Blocks {
		if b.Type != "resource" {
			continue
		}
		if role, ok := literalString(attr(b.Body, "role")); ok {
			if slices.Contains([]string{"roles/owner", "roles/editor", "roles/viewer", "roles/iam.serviceAccountAdmin"}, role) {
				t.Errorf("%s: basic role %s", b, role)
			}
		}
		if m, ok := literalString(attr(b.Body, "member")); ok && (m == "allUsers" || m == "allAuthenticatedUsers") {
			if role, _ := literalString(attr(b.Body, "role")); b.Labels[0] != "google_cloud_run_service_iam_member" || role != "roles/run.invoker" {
				t.Errorf("%s: %s may only invoke the presign function", b, m)
			}
		}
	}
	for _, r := range c.of("resource", "google_project_iam_custom_role") {
		perms, ok := literalStrings(attr(r.Body, "permissions"))
		if !ok || len(perms) == 0 {
			t.Errorf("%s: permissions must be a literal list", r)
		}
		for _, p := range perms {
			if strings.Contains(p, "*") {
				t.Errorf("%s: wildcard permission %q", r, p)
			}
		}
	}
	signBlob := 0
	for _, r := range c.of("resource", "google_project_iam_custom_role") {
		if perms, _ := literalStrings(attr(r.Body, "permissions")); slices.Contains(perms, "iam.serviceAccounts.signBlob") {
			signBlob++
			if len(perms) != 1 {
				t.Errorf("%s: the signing role holds %v, want iam.serviceAccounts.signBlob alone", r, perms)
			}
		}
	}
	if signBlob != 1 {
		t.Errorf("want one custom role granting iam.serviceAccounts.signBlob (presign signs as itself), found %d", signBlob)
	}
}

// gcpRegisteredFunctions reads which functions functions/gcp registers with the Functions Framework.
func gcpRegisteredFunctions(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "functions", "gcp", "*.go"))
	re := regexp.MustCompile(`functions\.(?:HTTP|CloudEvent)\("([A-Za-z0-9]+)"`)
	out := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			out[string(m[1])] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("functions/gcp registers no function")
	}
	return out
}

func TestAzureWiring(t *testing.T) {
	c := load(t, "modules/azure")
	e := newEvaluator(c)

	// The app runs the custom handler, and takes its config through a Key Vault reference under
	// the variable the handler reads.
	app := c.one(t, "resource", "azurerm_linux_function_app")
	settings := objectKeys(t, app.String()+".app_settings", attr(app.Body, "app_settings"))
	vars := map[string]bool{}
	for k := range settings {
		vars[k] = true
	}
	checkEnvNames(t, app.String(), vars, config.EnvInline)
	if v, diags := settings["FUNCTIONS_WORKER_RUNTIME"].Value(nil); diags.HasErrors() || v.AsString() != "custom" {
		t.Errorf("%s: FUNCTIONS_WORKER_RUNTIME must be \"custom\"", app)
	}
	if ref := app.source(settings[config.EnvInline]); !strings.HasPrefix(ref, `"@Microsoft.KeyVault(SecretUri=${`) {
		t.Errorf("%s: %s = %s, want a Key Vault reference", app, config.EnvInline, ref)
	}

	// The queues are the ones the package binds: Cleanup/function.json's queueTrigger and the
	// poison queue the Functions host moves a message to after host.json's maxDequeueCount.
	fj := readFile(t, filepath.Join(repoRoot(t), "functions", "azure", "Cleanup", "function.json"))
	var binding struct {
		Bindings []struct{ Type, QueueName, Connection string }
	}
	mustUnmarshal(t, fj, &binding)
	want := ""
	for _, b := range binding.Bindings {
		if b.Type == "queueTrigger" {
			want = b.QueueName
		}
	}
	var names []string
	for _, q := range c.of("resource", "azurerm_storage_queue") {
		names = append(names, e.str(t, q.String()+".name", attr(q.Body, "name")))
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{want, want + "-poison"}) {
		t.Errorf("queues %v, want [%s %s-poison] (Cleanup/function.json)", names, want, want)
	}

	// Blob access: a custom role that reads and deletes blobs, and nothing else.
	rd := c.one(t, "resource", "azurerm_role_definition")
	perms := sub(rd.Body, "permissions")
	if len(perms) != 1 {
		t.Fatalf("%s: want one permissions block", rd)
	}
	data, _ := literalStrings(attr(perms[0], "data_actions"))
	actions, _ := literalStrings(attr(perms[0], "actions"))
	sort.Strings(data)
	if !slices.Equal(data, []string{
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
	}) || len(actions) != 0 {
		t.Errorf("%s: actions %v, data_actions %v; want blob read and delete only", rd, actions, data)
	}
	for _, ra := range c.of("resource", "azurerm_role_assignment") {
		if name, ok := literalString(attr(ra.Body, "role_definition_name")); ok &&
			slices.Contains([]string{"Owner", "Contributor", "Storage Blob Data Owner", "Storage Account Contributor"}, name) {
			t.Errorf("%s: broad role %s", ra, name)
		}
	}
}

// readFile is os.ReadFile, failing the test on an error.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestExamplesUsePackagedZips: every zip an example hands its module (the *_zip arguments,
// evaluated with the example's defaults) is one `make package` writes.
func TestExamplesUsePackagedZips(t *testing.T) {
	built := packageNames(t)
	for _, dir := range modules(t) {
		if !strings.HasPrefix(dir, "examples/") {
			continue
		}
		c := load(t, dir)
		e := newEvaluator(c)
		n := 0
		for _, m := range c.Blocks {
			if m.Type != "module" {
				continue
			}
			for name, a := range m.Body.Attributes {
				if !strings.HasSuffix(name, "_zip") {
					continue
				}
				n++
				p := e.str(t, m.String()+"."+name, a)
				if filepath.Base(filepath.Dir(p)) != "package" || !built[filepath.Base(p)] {
					t.Errorf("%s: %s = %s, which make package does not write (it writes bin/package/%v)", m, name, p, slices.Sorted(maps.Keys(built)))
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: hands its module no zip", dir)
		}
	}
}

// TestSweepWiring: each cloud's sweeper is behind sweep_schedule, hands its files to the cleanup queue
// the cleanup function consumes, and may do nothing else.
func TestSweepWiring(t *testing.T) {
	// AWS: an EventBridge rule invokes the function, which gets the cleanup queue's URL and a role
	// with logs, the config secret and sqs:SendMessage on that queue only.
	c := load(t, "modules/aws")
	var fn block
	for _, f := range c.of("resource", "aws_lambda_function") {
		if f.Labels[1] == "sweep" {
			fn = f
		}
	}
	if fn.Body == nil || !strings.Contains(fn.source(attr(fn.Body, "count").Expr), "sweep_enabled") {
		t.Fatalf("no sweep function behind sweep_schedule: %s", fn)
	}
	env := objectKeys(t, fn.String()+".environment.variables", attr(sub(fn.Body, "environment")[0], "variables"))
	if got := traversal(env[enqueue.EnvSQSQueueURL]); got != "aws_sqs_queue.cleanup.url" {
		t.Errorf("%s: %s = %s, want the cleanup queue's URL", fn, enqueue.EnvSQSQueueURL, got)
	}
	var doc block
	for _, d := range c.of("data", "aws_iam_policy_document") {
		if d.Labels[1] == "sweep" {
			doc = d
		}
	}
	granted := map[string]bool{}
	for _, st := range sub(doc.Body, "statement") {
		a, _ := literalStrings(attr(st, "actions"))
		for _, x := range a {
			granted[x] = true
		}
		if slices.Contains(a, "sqs:SendMessage") && doc.source(attr(st, "resources").Expr) != "[aws_sqs_queue.cleanup.arn]" {
			t.Errorf("%s: sqs:SendMessage on %s, want the cleanup queue only", doc, doc.source(attr(st, "resources").Expr))
		}
	}
	if !reflectEqualKeys(granted, "logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue", "sqs:SendMessage") {
		t.Errorf("%s grants %v", doc, slices.Sorted(maps.Keys(granted)))
	}
	// Beyond those, only kms:Decrypt on kms_key_arns: a config secret under a customer managed key.
	if src := attr(doc.Body, "source_policy_documents"); src == nil || doc.source(src.Expr) != "data.aws_iam_policy_document.kms_decrypt[*].json" {
		t.Errorf("%s: source_policy_documents %v, want the kms_decrypt document alone (the config secret's key)", doc, src)
	}
	target := c.one(t, "resource", "aws_cloudwatch_event_target")
	perm := c.one(t, "resource", "aws_lambda_permission")
	if traversal(attr(target.Body, "arn").Expr) != "aws_lambda_function.sweep[*].arn" ||
		traversal(attr(perm.Body, "source_arn").Expr) != "aws_cloudwatch_event_rule.sweep[*].arn" {
		t.Errorf("the schedule does not invoke the sweep function: target %s, permission %s",
			target.source(attr(target.Body, "arn").Expr), perm.source(attr(perm.Body, "source_arn").Expr))
	}
	if v, _ := literalString(attr(perm.Body, "principal")); v != "events.amazonaws.com" {
		t.Errorf("%s: principal %q", perm, v)
	}
	if !packageNames(t)["sweep-lambda-arm64.zip"] {
		t.Error("make package builds no sweep Lambda zip")
	}

	// GCP: Cloud Scheduler publishes to the sweep topic; the function publishes to the cleanup topic,
	// and its identity may publish there and read the config, nothing else.
	c = load(t, "modules/gcp")
	job := c.one(t, "resource", "google_cloud_scheduler_job")
	if got := traversal(attr(sub(job.Body, "pubsub_target")[0], "topic_name").Expr); got != "google_pubsub_topic.sweep[*].id" {
		t.Errorf("%s: publishes to %s", job, got)
	}
	for _, f := range c.of("resource", "google_cloudfunctions2_function") {
		if f.Labels[1] != "sweep" {
			continue
		}
		vars := objectKeys(t, f.String()+".environment_variables", attr(sub(f.Body, "service_config")[0], "environment_variables"))
		if got := traversal(vars[enqueue.EnvPubSubTopic]); got != "google_pubsub_topic.cleanup.id" {
			t.Errorf("%s: %s = %s", f, enqueue.EnvPubSubTopic, got)
		}
	}
	roles := map[string]string{}
	for _, typ := range []string{"google_pubsub_topic_iam_member", "google_secret_manager_secret_iam_member", "google_storage_bucket_iam_member",
		"google_project_iam_member", "google_cloud_run_service_iam_member", "google_service_account_iam_member", "google_pubsub_subscription_iam_member"} {
		for _, m := range c.of("resource", typ) {
			if strings.Contains(m.source(attr(m.Body, "member").Expr), "google_service_account.sweep") {
				role, _ := literalString(attr(m.Body, "role"))
				target := ""
				if a := attr(m.Body, "topic"); a != nil {
					target = traversal(a.Expr)
				}
				roles[role] = target
			}
		}
	}
	if len(roles) != 2 || roles["roles/pubsub.publisher"] != "google_pubsub_topic.cleanup.name" || roles["roles/secretmanager.secretAccessor"] != "" {
		t.Errorf("the sweep identity holds %v, want pubsub.publisher on the cleanup topic and the config secret", roles)
	}

	// Azure: the timer function in the package reads its schedule from the app setting the module
	// writes, and its queue is the cleanup queue.
	var timer struct {
		Bindings []struct{ Type, Name, Schedule string }
	}
	mustUnmarshal(t, readFile(t, filepath.Join(repoRoot(t), "functions", "azure", "Sweep", "function.json")), &timer)
	if len(timer.Bindings) != 1 || timer.Bindings[0].Type != "timerTrigger" || timer.Bindings[0].Name != "timer" ||
		timer.Bindings[0].Schedule != "%STORAGEGATE_SWEEP_SCHEDULE%" {
		t.Errorf("Sweep/function.json: %+v", timer)
	}
	c = load(t, "modules/azure")
	app := c.one(t, "resource", "azurerm_linux_function_app")
	settings := objectKeys(t, app.String()+".app_settings", attr(app.Body, "app_settings"))
	for _, k := range []string{"STORAGEGATE_SWEEP_SCHEDULE", enqueue.EnvAzureQueue, "AzureWebJobs.Sweep.Disabled"} {
		if settings[k] == nil {
			t.Errorf("%s: no app setting %s", app, k)
		}
	}
}

func reflectEqualKeys(m map[string]bool, keys ...string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if !m[k] {
			return false
		}
	}
	return true
}
