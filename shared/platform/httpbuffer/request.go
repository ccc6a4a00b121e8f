package httpbuffer

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// NewRequest rebuilds a request that a platform hands over in parts. The
// query stays exactly as the client sent it, whatever it holds (a '#'
// included): it is never re-parsed from a URL string, where everything after
// a '#' would be cut off as a fragment and a different object signed.
func NewRequest(ctx context.Context, method, host, rawPath, rawQuery string, body []byte) (*http.Request, error) {
	if rawPath == "" {
		rawPath = "/"
	}
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("the request path %q is not valid percent-encoding", rawPath)
	}
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.URL = &url.URL{Scheme: "https", Host: host, Path: path, RawPath: rawPath, RawQuery: rawQuery}
	r.Host = host
	r.RequestURI = rawPath
	if rawQuery != "" {
		r.RequestURI += "?" + rawQuery
	}
	return r, nil
}
