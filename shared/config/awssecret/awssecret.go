// Package awssecret reads the config document from AWS Secrets Manager
// (STORAGEGATE_CONFIG_SECRET), once per cold start.
package awssecret

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Fetch returns the secret's string (or binary) value. It uses the function's
// role through the default chain; the value is never logged.
func Fetch(ctx context.Context, arn string) ([]byte, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return FetchWith(ctx, secretsmanager.NewFromConfig(cfg), arn)
}

// GetSecretValueAPI is the one call used (a client or a test double).
type GetSecretValueAPI interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// FetchWith reads arn through c.
func FetchWith(ctx context.Context, c GetSecretValueAPI, arn string) ([]byte, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	switch {
	case out.SecretString != nil:
		return []byte(*out.SecretString), nil
	case out.SecretBinary != nil:
		return out.SecretBinary, nil
	}
	return nil, errors.New("the secret has no value")
}
