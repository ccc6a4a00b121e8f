package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/storagegate/storagegate/shared/internal/lambdaemu"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestLambdaConfigFromSecretsManager: STORAGEGATE_CONFIG_SECRET is read from
// Secrets Manager (moto) at cold start, and the function then signs.
func TestLambdaConfigFromSecretsManager(t *testing.T) {
	w := newWorld(t)
	w.minio.Put(t, sampleBucket, "My Project/train model.3f2a9c0e8d7b4a1f/metrics/loss/train/loss_00042.png", []byte("png bytes"))
	moto := testserver.StartMoto(t)
	sm := secretsmanager.NewFromConfig(moto.AWSConfig())
	out, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String("storagegate/config"), SecretString: aws.String(w.config),
	})
	if err != nil {
		t.Fatal(err)
	}
	emu := lambdaemu.Start(t, lambdaemu.Build(t, "github.com/storagegate/storagegate/functions/aws/presign"), []string{
		"STORAGEGATE_CONFIG_SECRET=" + *out.ARN,
		"AWS_ENDPOINT_URL=" + moto.Endpoint,
		"AWS_ACCESS_KEY_ID=" + moto.AccessKey, "AWS_SECRET_ACCESS_KEY=" + moto.SecretKey,
		"AWS_REGION=" + moto.Region,
	})
	a := fromLambda(t, emu, w.sample(t, "function-url-get-cookie.json"))
	if a.Status != 302 {
		t.Fatalf("%+v\n%s", a, emu.Logs())
	}
	if status, body := get(t, "GET", a.Location); status != 200 || body != "png bytes" {
		t.Fatalf("%d %q", status, body)
	}
	if strings.Contains(emu.Logs(), w.minio.SecretKey) {
		t.Fatal("the config's secret reached the logs")
	}
}

// TestLambdaBadConfigFailsAtStart: an invalid config fails the cold start
// with a message that names the field, never at the first request, and
// without echoing secrets.
func TestLambdaBadConfigFailsAtStart(t *testing.T) {
	bin := lambdaemu.Build(t, "github.com/storagegate/storagegate/functions/aws/presign")
	for name, c := range map[string]struct{ env, field string }{
		"bad expires":            {`STORAGEGATE_CONFIG={"presign": {"expires": "soon"}, "storage": {"aws": {"key": "AKIA", "secret": "hunter2-secret"}}}`, "presign.expires"},
		"bad auth":               {`STORAGEGATE_CONFIG={"clearml": {"auth_mode": "magic"}}`, "clearml.auth_mode"},
		"no source":              {"STORAGEGATE_NOTHING=1", "STORAGEGATE_CONFIG"},
		"bad host":               {`STORAGEGATE_CONFIG={"storage": {"aws": {"buckets": [{"bucket": "b", "host": "http://minio:9000", "key": "k", "secret": "hunter2-secret"}]}}}`, "storage.aws.buckets[0].host"},
		"two sources":            {"STORAGEGATE_CONFIG_FILE=/nonexistent", "STORAGEGATE_CONFIG"},
		"malformed key JSON":     {`STORAGEGATE_CONFIG={"storage": {"google": {"buckets": [{"bucket": "b", "credentials_json": "{\"type\": \"service_account\", \"private_key\": \"hunter2-secret"}]}}}`, "storage.google.buckets[0]"},
		"not a service account":  {`STORAGEGATE_CONFIG={"storage": {"google": {"credentials_json": "{\"type\": \"authorized_user\", \"refresh_token\": \"hunter2-secret\"}"}}}`, "storage.google"},
		"account key not base64": {`STORAGEGATE_CONFIG={"storage": {"azure": {"containers": [{"account_name": "acct", "account_key": "hunter2-secret!!", "container_name": "c"}]}}}`, "storage.azure.containers[0]"},
		"missing account":        {`STORAGEGATE_CONFIG={"storage": {"azure": {"containers": [{"account_key": "aHVudGVyMi1zZWNyZXQ=", "container_name": "c"}]}}}`, "storage.azure.containers[0].account_name"},
	} {
		t.Run(name, func(t *testing.T) {
			env := []string{c.env}
			if name == "two sources" {
				env = append(env, `STORAGEGATE_CONFIG={}`)
			}
			emu := lambdaemu.Start(t, bin, env)
			payload, _ := json.Marshal(events.LambdaFunctionURLRequest{RawPath: "/healthz"})
			_, err := emu.Invoke(context.Background(), payload)
			var fe *lambdaemu.FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("invoke succeeded or failed oddly: %v", err)
			}
			logs := emu.Logs()
			if !strings.Contains(logs, c.field) {
				t.Fatalf("start-up error does not name %s:\n%s", c.field, logs)
			}
			if strings.Contains(logs, "hunter2-secret") {
				t.Fatal("a secret was echoed")
			}
		})
	}
}
