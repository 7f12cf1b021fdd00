package jose

import (
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/jsonx"
)

// Header is a parsed JOSE header. Alg, Typ, Kid and Cty are the registered
// string members (empty when absent); every member, registered or not, is
// kept raw and can be tested with Has and read with Raw.
type Header struct {
	Alg string
	Typ string
	Kid string
	Cty string

	members map[string]jsontext.Value
}

// Has reports whether the header has the member name (case-exact).
func (h *Header) Has(name string) bool {
	_, ok := h.members[name]
	return ok
}

// Raw returns the raw JSON of member name, or nil.
func (h *Header) Raw(name string) jsontext.Value { return h.members[name] }

func parseHeader(data []byte, h *Header) error {
	if err := jsonx.Check(data, jsonx.MaxDepth); err != nil {
		return fmt.Errorf("checking the JWS header: %w", err)
	}
	if err := json.Unmarshal(data, &h.members); err != nil || h.members == nil {
		return ErrMalformed.With("the header is not a JSON object", err)
	}
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"alg", &h.Alg}, {"typ", &h.Typ}, {"kid", &h.Kid}, {"cty", &h.Cty}} {
		raw, ok := h.members[f.name]
		if !ok {
			continue
		}
		if raw.Kind() != '"' {
			return ErrMalformed.With(fmt.Sprintf("header %q must be a string", f.name), nil)
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return ErrMalformed.With("", err)
		}
	}
	if !h.Has("alg") {
		return ErrUnsupportedAlg.With("the header has no alg", nil)
	}
	return nil
}
