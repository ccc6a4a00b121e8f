package gcp

import (
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/platform/gcpfunc"
)

// init registers the CloudEvent function Sweep: Cloud Scheduler publishes to
// the sweep topic, whose push subscription delivers here.
func init() {
	var s gcpfunc.Runner
	if gcpfunc.Serves("Sweep") {
		s = app.SweepOrExit(nil)
	}
	functions.CloudEvent("Sweep", gcpfunc.Scheduled(s))
}
