// Package gcp registers storagegate's Cloud Functions (gen2) with the
// Functions Framework: the HTTP function Presign, and the CloudEvent
// functions Cleanup (Pub/Sub deletion messages) and Sweep (the Cloud
// Scheduler topic). Deploy this package as the function source
// (`make package`: bin/package/gcp-source.zip); cmd/ runs it locally exactly
// as the platform does, selected by FUNCTION_TARGET.
package gcp

import (
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/storagegate/storagegate/shared/app"
)

// init builds the handler at instance start-up when this instance serves
// Presign (FUNCTION_TARGET): an invalid config fails the instance with a
// message naming the field, never a request.
func init() {
	if t := os.Getenv("FUNCTION_TARGET"); t == "" || t == "Presign" {
		functions.HTTP("Presign", app.PresignOrExit(nil).ServeHTTP)
	}
}
