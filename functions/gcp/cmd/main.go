// Command cmd runs the Cloud Functions locally as the platform does: the
// Functions Framework serves the function named by FUNCTION_TARGET on PORT.
// LOCAL_ONLY=true binds 127.0.0.1 instead of every interface.
package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/storagegate/storagegate/functions/gcp"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host := ""
	if os.Getenv("LOCAL_ONLY") == "true" {
		host = "127.0.0.1"
	}
	if err := funcframework.StartHostPort(host, port); err != nil {
		log.Fatalf("funcframework: %v", err)
	}
}
