package presign

import "strings"

// contentDisposition builds an RFC 6266 attachment header for the key's base
// name taken literally: an ASCII fallback plus the exact name as
// filename*=UTF-8”. A key's literal %20 stays %20 in the saved name.
func contentDisposition(name string) string {
	var fb, ext strings.Builder
	for _, r := range name {
		switch {
		case r == '"' || r == '\\':
			fb.WriteByte('_')
		case r < 0x20 || r == 0x7f || r >= 0x80:
			fb.WriteByte('_')
		default:
			fb.WriteRune(r)
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		// attr-char of RFC 8187; everything else percent-encoded.
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			ext.WriteByte(c)
			continue
		}
		ext.WriteByte('%')
		ext.WriteByte("0123456789ABCDEF"[c>>4])
		ext.WriteByte("0123456789ABCDEF"[c&15])
	}
	return `attachment; filename="` + fb.String() + `"; filename*=UTF-8''` + ext.String()
}
