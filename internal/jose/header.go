package jose

import (
	"fmt"
)

// Header is a parsed JOSE header. Alg, Typ, Kid and Cty are the registered
// string members (empty when absent); every member, registered or not, is
// kept raw and can be tested with Has and read with Raw.
type Header struct {
	Alg string
	Typ string
	Kid string
	Cty string

	members map[string]any
}

// Has reports whether the header has the member name (case-exact).
func (h *Header) Has(name string) bool {
	_, ok := h.members[name]
	return ok
}

// Member returns the decoded value of member name (in the Claims
// representation), or nil.
func (h *Header) Member(name string) any { return h.members[name] }

// parseHeader decodes a header that ParseUnverified decoded from base64;
// its bytes are never modified afterwards.
func parseHeader(data []byte, h *Header) error {
	v, err := parseOwned(data)
	if err != nil {
		return fmt.Errorf("checking the JWS header: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return ErrMalformed.With("the header is not a JSON object", nil)
	}
	h.members = m
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"alg", &h.Alg}, {"typ", &h.Typ}, {"kid", &h.Kid}, {"cty", &h.Cty}} {
		raw, ok := m[f.name]
		if !ok {
			continue
		}
		s, ok := raw.(string)
		if !ok {
			return ErrMalformed.With(fmt.Sprintf("header %q must be a string", f.name), nil)
		}
		*f.dst = s
	}
	if !h.Has("alg") {
		return ErrUnsupportedAlg.With("the header has no alg", nil)
	}
	return nil
}
