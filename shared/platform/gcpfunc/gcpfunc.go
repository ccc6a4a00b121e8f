// Package gcpfunc is storagegate's Cloud Functions (gen2) glue: the Pub/Sub
// message a CloudEvent carries (MessagePublishedData), the handlers that run
// one through the core (PubSub for deletion messages, Scheduled for the
// Cloud Scheduler topic), and Serves, which tells an instance whether it
// builds a function. The HTTP function needs no glue: the Functions
// Framework serves the presign http.Handler as it is. functions/gcp
// registers the three functions with the Functions Framework in init().
package gcpfunc

import "os"

// Serves reports whether this instance serves the function name: the
// platform runs one function per instance and names it in FUNCTION_TARGET;
// without it (a local run of every function) each one is served. A function
// is built only where it is served, so an invalid config fails the instance
// that needs it at start-up rather than every request or message, and an
// instance serving Presign builds no cleanup pipeline.
func Serves(name string) bool {
	t := os.Getenv("FUNCTION_TARGET")
	return t == "" || t == name
}
