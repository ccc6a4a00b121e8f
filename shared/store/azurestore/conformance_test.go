package azurestore

import (
	"testing"

	"github.com/storagegate/storagegate/shared/store/storetest"
)

// TestConformanceAzurite runs the store suite against Azurite, which checks
// a service SAS as Azure does (signature, expiry, resource, permission).
func TestConformanceAzurite(t *testing.T) {
	az := startAzurite(t)
	storetest.Run(t, storetest.Fixture{
		Name:           "azurestore on Azurite",
		Signer:         az.store(t),
		Bucket:         az.container,
		Put:            az.put,
		SignatureParam: "sig",
		// A read SAS answers GET and HEAD alike: Azure does not bind a SAS
		// to a method.
		MethodUnchecked: true,
	})
}
