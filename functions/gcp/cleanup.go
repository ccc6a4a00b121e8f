package gcp

import (
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/platform/gcpfunc"
)

// init registers the CloudEvent function Cleanup: Pub/Sub deletion messages.
func init() {
	var p gcpfunc.Processor
	if gcpfunc.Serves("Cleanup") {
		p = app.CleanupOrExit(nil)
	}
	functions.CloudEvent("Cleanup", gcpfunc.PubSub(p))
}
