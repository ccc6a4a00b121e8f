package testserver

import "net/http"

// S3Operation names the S3 API call a request makes, for tests that count
// what a client sends (DeleteObjects, ListObjectsV2, HeadObject; otherwise
// the HTTP method).
func S3Operation(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("delete"):
		return "DeleteObjects"
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		return "ListObjectsV2"
	case r.Method == http.MethodHead:
		return "HeadObject"
	}
	return r.Method
}
