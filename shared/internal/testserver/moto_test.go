package testserver

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestMoto(t *testing.T) {
	m := StartMoto(t)
	ctx := context.Background()
	c := secretsmanager.NewFromConfig(m.AWSConfig())
	created, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("storagegate/config"), SecretString: aws.String(`{"storage":{}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.SecretString) != `{"storage":{}}` {
		t.Fatalf("secret = %q", aws.ToString(got.SecretString))
	}

	m.Reset(t)
	if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN}); err == nil {
		t.Fatal("secret still there after Reset")
	}
}
