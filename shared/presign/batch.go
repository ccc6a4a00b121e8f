package presign

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/storagegate/storagegate/shared/clearmlauth"
	"github.com/storagegate/storagegate/shared/storagesettings"
)

// batchRequest is the body of POST /presign.
type batchRequest struct {
	// URLs stay raw until checked: encoding/json turns invalid UTF-8 and
	// lone surrogate escapes into U+FFFD, which would sign another object.
	URLs     []json.RawMessage `json:"urls"`
	Expires  json.RawMessage   `json:"expires"`
	Download json.RawMessage   `json:"download"`
	Method   string            `json:"method"`
	Field    string            `json:"field"`
	ObjType  string            `json:"obj_type"`
}

func (h *Handler) batch(w http.ResponseWriter, r *http.Request, id clearmlauth.Identity, snap *storagesettings.Snapshot, rec *logRecord) int {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return h.fail(w, r, newErr(http.StatusBadRequest, "invalid_body", "POST /presign takes Content-Type: application/json"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBatchBody+1))
	if err != nil {
		return h.fail(w, r, newErr(http.StatusBadRequest, "invalid_body", "the request body could not be read"))
	}
	if len(body) > MaxBatchBody {
		return h.fail(w, r, newErr(http.StatusBadRequest, "invalid_body", "the request body is larger than 256 KiB"))
	}
	var req batchRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		return h.fail(w, r, newErr(http.StatusBadRequest, "invalid_body", `the body is not JSON of the form {"urls": ["s3://bucket/key", ...]}`))
	}
	urls := make([]string, len(req.URLs))
	exact := make([]bool, len(req.URLs))
	for i, raw := range req.URLs {
		if string(raw) == "null" {
			continue // "": refused as that entry's invalid_url
		}
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &urls[i]) != nil {
			return h.fail(w, r, newErr(http.StatusBadRequest, "invalid_body", `the body is not JSON of the form {"urls": ["s3://bucket/key", ...]}`))
		}
		exact[i] = exactJSONString(raw)
	}
	if len(req.URLs) == 0 {
		return h.fail(w, r, newErr(http.StatusBadRequest, "invalid_body", "urls is empty: give at least one storage URL"))
	}
	if len(req.URLs) > MaxBatchURLs {
		return h.fail(w, r, newErr(http.StatusBadRequest, "too_many_urls", "a batch holds at most 100 urls"))
	}
	p := params{field: req.Field, objType: req.ObjType}
	var apiErr *apiError
	if p.method, apiErr = parseMethod(req.Method); apiErr != nil {
		return h.fail(w, r, apiErr)
	}
	if len(req.Expires) > 0 && string(req.Expires) != "null" {
		// A JSON number, or the same digits as a string.
		var n json.Number
		if err := json.Unmarshal(req.Expires, &n); err != nil {
			var str string
			if json.Unmarshal(req.Expires, &str) != nil {
				return h.fail(w, r, newErr(http.StatusBadRequest, "invalid_parameter", "expires must be a whole number of seconds, at least 1"))
			}
			n = json.Number(str)
		}
		d, apiErr := parseExpires(n.String())
		if apiErr != nil {
			return h.fail(w, r, apiErr)
		}
		p.expires = d
	}
	if string(req.Download) != "null" { // JSON null: the default, as when absent
		// true, false, 1, 0, or the same as a string: the GET form's parser.
		if p.download, apiErr = parseDownload(strings.Trim(string(req.Download), `"`)); apiErr != nil {
			return h.fail(w, r, apiErr)
		}
	}

	// Policy about the caller answers for the whole request (403), after
	// the body's syntax (400); each URL's own policy is in its result.
	if err := h.authorize(snap, id); err != nil {
		return h.fail(w, r, authError(err))
	}
	rec.urls = len(req.URLs)
	out := struct {
		Results []*result `json:"results"`
	}{Results: make([]*result, len(req.URLs))}
	for i, raw := range urls {
		if !exact[i] {
			out.Results[i] = &result{URL: raw, Error: newErr(http.StatusBadRequest, "invalid_url", "the url is not valid UTF-8")}
			continue
		}
		res, apiErr := h.signURL(r.Context(), snap, raw, p)
		if apiErr != nil {
			res = &result{URL: raw, Error: apiErr}
		}
		out.Results[i] = res
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
	return http.StatusOK
}

// exactJSONString reports whether the JSON string token raw decodes to
// exactly what it says: valid UTF-8, and no \u escape of a lone surrogate
// (both of which encoding/json replaces with U+FFFD).
func exactJSONString(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue // a one-character escape
		}
		r1 := hex4(raw[i+1:])
		i += 4
		switch {
		case r1 >= 0xdc00 && r1 <= 0xdfff:
			return false // a low surrogate alone
		case r1 >= 0xd800 && r1 <= 0xdbff:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return false
			}
			if r2 := hex4(raw[i+3:]); r2 < 0xdc00 || r2 > 0xdfff {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 reads four hex digits (-1 if they are not).
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}
