package gcsstore

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// signer is a service account that signs V4 strings-to-sign (RSA-SHA256,
// PKCS #1 v1.5) as itself: with its key file, or remotely through IAM signBlob.
type signer interface {
	account(ctx context.Context) (string, error)
	signBlob(ctx context.Context, blob []byte) ([]byte, error)
}

// keySigner signs with a private key parsed once, at New: parsing PEM and
// PKCS #8 per request would cost about as much as the signature itself.
type keySigner struct {
	email string
	key   *rsa.PrivateKey
}

func (k *keySigner) account(context.Context) (string, error) { return k.email, nil }

func (k *keySigner) signBlob(_ context.Context, blob []byte) ([]byte, error) {
	sum := sha256.Sum256(blob)
	return rsa.SignPKCS1v15(nil, k.key, crypto.SHA256, sum[:])
}

// keyFile is the part of a service account key file that signing needs.
type keyFile struct {
	Type        string `json:"type"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
}

// parseKeyFile reads a service account key file (the content of
// credentials_json). Its errors name the problem and never quote the key.
func parseKeyFile(data []byte) (*keySigner, error) {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		// A JSON syntax error quotes no input, only an offset.
		return nil, fmt.Errorf("credentials_json is not a JSON key file: %v", jsonErr(err))
	}
	if f.Type != "service_account" {
		return nil, fmt.Errorf("credentials_json has type %q: signing URLs needs a service account key file (type \"service_account\"); "+
			"leave credentials_json empty to sign with Application Default Credentials through IAM signBlob", f.Type)
	}
	if f.ClientEmail == "" {
		return nil, errors.New("credentials_json has no client_email")
	}
	if f.PrivateKey == "" {
		return nil, errors.New("credentials_json has no private_key")
	}
	key, err := parsePrivateKey(f.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("credentials_json private_key %w", err)
	}
	return &keySigner{email: f.ClientEmail, key: key}, nil
}

func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("is not PEM-encoded")
	}
	// Key files carry PKCS #8; older tools wrote PKCS #1.
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("is a %T, not an RSA key", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("is not a PKCS #8 or PKCS #1 RSA private key")
	}
	return k, nil
}

// jsonErr keeps json's own message for syntax errors (an offset, no input)
// and says only "malformed" otherwise, so that no value from the file leaks.
func jsonErr(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s has the wrong type (%s)", strings.TrimPrefix(typ.Field, "."), typ.Value)
	default:
		return "malformed JSON"
	}
}
