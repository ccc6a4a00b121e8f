// Command handler is storagegate's Azure Functions custom handler: one Go
// binary that the Functions host starts and talks to on
// FUNCTIONS_CUSTOMHANDLER_PORT, serving Presign (HTTP trigger), Cleanup
// (Storage Queue trigger) and Sweep (timer trigger) as azurefunc.App routes
// them. One app.AllOrExit builds all three on one set of storage settings,
// so the stores are built once per process.
package main

import (
	"os"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/platform/azurefunc"
)

func main() {
	presign, pipeline, sweeper := app.AllOrExit(nil)
	if err := azurefunc.ListenAndServe(os.Getenv, azurefunc.App(presign, pipeline, sweeper)); err != nil {
		app.NewLogger(os.Stderr).Error("serve", "error", err.Error())
		os.Exit(1)
	}
}
