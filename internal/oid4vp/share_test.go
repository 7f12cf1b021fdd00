package oid4vp

import (
	"net/url"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestParseResponseFormSharesVPToken: the presentations of a direct_post
// form are substrings of its vp_token (the bulk of a response), not
// copies: neither the token's bytes nor its decoded strings are copied.
func TestParseResponseFormSharesVPToken(t *testing.T) {
	pres := strings.Repeat("eyJhbGciOiJFUzI1NiJ9", 50) + "~WyJzYWx0IiwiZ2l2ZW5fbmFtZSIsIkVyaWthIl0~"
	tok := `{"pass":["` + pres + `"]}`
	r, err := ParseResponseForm(url.Values{"vp_token": {tok}, "state": {"s"}})
	require.NoError(t, err)
	got := r.VPToken["pass"][0]
	require.Equal(t, pres, got)
	start := uintptr(unsafe.Pointer(unsafe.StringData(tok)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(got)))
	require.True(t, p >= start && p+uintptr(len(got)) <= start+uintptr(len(tok)), "the presentation was copied")
}
