// Package gcp registers storagegate's Cloud Functions (gen2) with the
// Functions Framework: the HTTP function Presign, and the CloudEvent
// functions Cleanup (Pub/Sub deletion messages) and Sweep (the Cloud
// Scheduler topic). Each is built at instance start-up only when the
// instance serves it (gcpfunc.Serves: FUNCTION_TARGET), so an invalid config
// fails the instance with a message naming the field, never a request.
// Deploy this package as the function source (`make package`:
// bin/package/gcp-source.zip); cmd/ runs it locally exactly as the platform
// does, selected by FUNCTION_TARGET.
package gcp

import (
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/platform/gcpfunc"
)

// init registers the HTTP function Presign.
func init() {
	if gcpfunc.Serves("Presign") {
		functions.HTTP("Presign", app.PresignOrExit(nil).ServeHTTP)
	}
}
