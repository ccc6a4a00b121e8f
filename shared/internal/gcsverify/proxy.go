package gcsverify

import (
	"encoding/xml"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Proxy verifies each request's V4 signature and forwards what verifies to
// upstream, a fake-gcs-server base URL such as http://127.0.0.1:4443. The
// upstream's Host header is its own host, which must be the server's
// -public-host: fake-gcs-server serves the XML path /{bucket}/{object} only
// to that host. A refusal is answered the way Cloud Storage answers it: the
// status and an XML <Error> with Code and Message.
func Proxy(v *Verifier, upstream *url.URL) http.Handler {
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(upstream) // also sets the outbound Host to upstream's
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := v.Verify(r); err != nil {
			writeError(w, err)
			return
		}
		rp.ServeHTTP(w, r)
	})
}

func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: err.Error()}
	}
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
		Details string `xml:",omitempty"`
	}{Code: e.Code, Message: e.Message, Details: e.Details})
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}
