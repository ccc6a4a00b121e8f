package azurestore

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/storagegate/storagegate/shared/store"
)

// KeyLifetime is how long a requested user delegation key lives. Azure
// allows a key to end at most 7 days after its own clock's present; the hour
// short of that absorbs clock skew.
const KeyLifetime = 7*24*time.Hour - time.Hour

// retryAfter spaces out attempts to replace a key that still works, so a
// failing identity endpoint is not called on every signature.
const retryAfter = time.Minute

// delegationKey is one user delegation key and the times Azure granted it.
type delegationKey struct {
	cred          *service.UserDelegationCredential
	start, expiry time.Time
	refreshAt     time.Time // a quarter of its life before expiry
}

// delegationKeys caches the account's user delegation key: one Get User
// Delegation Key call serves every signature until the key has a quarter of
// its life left (about 41 hours for a KeyLifetime key), so a URL of up to a
// day and a half is never cut short by the key it was signed with.
type delegationKeys struct {
	svc *service.Client
	now func() time.Time

	cur atomic.Pointer[delegationKey] // read without locking on every Sign
	// fetching is held by the one caller that asks Azure for a key; a
	// channel rather than a mutex, so that waiters can give up with ctx.
	fetching chan struct{}
	retryAt  time.Time // guarded by fetching
}

func newDelegationKeys(svc *service.Client, now func() time.Time) *delegationKeys {
	return &delegationKeys{svc: svc, now: now, fetching: make(chan struct{}, 1)}
}

// get returns a key that is still fresh, fetching one when needed. While a
// refresh fails, a key that has not expired keeps signing (URLs are capped
// at its expiry by Sign).
func (d *delegationKeys) get(ctx context.Context) (*delegationKey, error) {
	if k := d.cur.Load(); k != nil && d.now().Before(k.refreshAt) {
		return k, nil
	}
	select {
	case d.fetching <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for a user delegation key: %v", store.ErrCredentials, ctx.Err())
	}
	defer func() { <-d.fetching }()

	now := d.now()
	k := d.cur.Load()
	usable := k != nil && now.Before(k.expiry.Add(-time.Minute))
	switch {
	case k != nil && now.Before(k.refreshAt):
		return k, nil // another caller fetched it while this one waited
	case usable && now.Before(d.retryAt):
		return k, nil
	}
	nk, err := d.fetch(ctx, now)
	if err != nil {
		if usable {
			d.retryAt = now.Add(retryAfter)
			return k, nil
		}
		return nil, err
	}
	d.cur.Store(nk)
	return nk, nil
}

func (d *delegationKeys) fetch(ctx context.Context, now time.Time) (*delegationKey, error) {
	info := service.KeyInfo{
		Start:  new(now.Add(-StartSkew).UTC().Format(sas.TimeFormat)),
		Expiry: new(now.Add(KeyLifetime).UTC().Format(sas.TimeFormat)),
	}
	cred, err := d.svc.GetUserDelegationCredential(ctx, info, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: getting a user delegation key: %s", store.ErrCredentials, describe(err))
	}
	// The credential does not show the key's validity, and Azure may grant
	// less than asked: a throwaway signature reports what the key carries.
	probe, err := sas.BlobSignatureValues{
		ExpiryTime: now.Add(time.Hour), Permissions: readOnly, ContainerName: "c", BlobName: "b",
	}.SignWithUserDelegation(cred)
	if err != nil {
		return nil, fmt.Errorf("%w: the user delegation key cannot sign: %v", store.ErrCredentials, err)
	}
	start, expiry := probe.SignedStart().UTC(), probe.SignedExpiry().UTC().Truncate(time.Second)
	if !expiry.After(now) {
		return nil, fmt.Errorf("%w: Azure granted a user delegation key that expires at %s", store.ErrCredentials, expiry.Format(time.RFC3339))
	}
	return &delegationKey{cred: cred, start: start, expiry: expiry, refreshAt: expiry.Add(-expiry.Sub(now) / 4)}, nil
}
