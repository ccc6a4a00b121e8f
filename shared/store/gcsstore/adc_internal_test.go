package gcsstore

import (
	"strings"
	"testing"
)

func TestImpersonatedAccount(t *testing.T) {
	email, err := impersonatedAccount([]byte(`{"type":"impersonated_service_account",
		"service_account_impersonation_url":"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/signer@p.iam.gserviceaccount.com:generateAccessToken"}`))
	if err != nil || email != "signer@p.iam.gserviceaccount.com" {
		t.Fatalf("impersonated credentials: %q, %v", email, err)
	}
	_, err = impersonatedAccount([]byte(`{"type":"authorized_user","refresh_token":"secret"}`))
	if err == nil || !strings.Contains(err.Error(), "authorized_user") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("user credentials: %v, want an error naming the type and nothing else", err)
	}
}
