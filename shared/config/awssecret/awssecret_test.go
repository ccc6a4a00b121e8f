package awssecret_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/storagegate/storagegate/shared/config/awssecret"
)

// fakeSM answers GetSecretValue as Secrets Manager does, for one ARN.
type fakeSM struct {
	arn string
	out secretsmanager.GetSecretValueOutput
	err error
}

func (f fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if in.SecretId == nil || *in.SecretId != f.arn {
		return nil, errors.New("ResourceNotFoundException: Secrets Manager can't find the specified secret")
	}
	if f.err != nil {
		return nil, f.err
	}
	return &f.out, nil
}

const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:storagegate-config-AbCdEf"

func TestFetchWith(t *testing.T) {
	doc := `{"storage": {"aws": {"key": "AKIA", "secret": "s3cr3t"}}}`
	got, err := awssecret.FetchWith(context.Background(), fakeSM{arn: arn, out: secretsmanager.GetSecretValueOutput{SecretString: &doc}}, arn)
	if err != nil || string(got) != doc {
		t.Fatalf("a string secret: %q %v", got, err)
	}
	got, err = awssecret.FetchWith(context.Background(), fakeSM{arn: arn, out: secretsmanager.GetSecretValueOutput{SecretBinary: []byte(doc)}}, arn)
	if err != nil || string(got) != doc {
		t.Fatalf("a binary secret: %q %v", got, err)
	}
	if _, err := awssecret.FetchWith(context.Background(), fakeSM{arn: arn}, arn); err == nil || !strings.Contains(err.Error(), "no value") {
		t.Fatalf("an empty secret: %v", err)
	}
	if _, err := awssecret.FetchWith(context.Background(), fakeSM{arn: arn}, arn+"-other"); err == nil {
		t.Fatal("another ARN: no error")
	}
	denied := errors.New("AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue")
	if _, err := awssecret.FetchWith(context.Background(), fakeSM{arn: arn, err: denied}, arn); !errors.Is(err, denied) {
		t.Fatalf("denied: %v", err)
	}
}
