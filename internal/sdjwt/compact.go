package sdjwt

import (
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// Limits (SECURITY-CASES A12, B32).
const (
	// DefaultMaxSize caps a whole SD-JWT or SD-JWT+KB before it is split.
	DefaultMaxSize = 256 << 10
	// MaxDisclosures is the most disclosures one SD-JWT may carry.
	MaxDisclosures = 256
	// MaxRecursion is the deepest chain of disclosures inside disclosures.
	MaxRecursion = 8
)

// Parts is an SD-JWT split into its components. KBJWT is empty for an
// SD-JWT without key binding.
type Parts struct {
	IssuerJWT   string
	Disclosures []string
	KBJWT       string
}

// Split splits a compact SD-JWT (`<JWT>~<D>~…~`) or SD-JWT+KB
// (`<JWT>~<D>~…~<KB-JWT>`). The size and the number of separators are
// checked before anything is allocated per component. Empty components
// and a JWS where a disclosure is expected are malformed_sd_jwt.
func Split(s string, maxSize int) (Parts, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(s) > maxSize {
		return Parts{}, jose.ErrTooLarge
	}
	n := strings.Count(s, "~")
	if n == 0 {
		return Parts{}, ErrMalformed.With("an SD-JWT has at least one ~", nil)
	}
	if n-1 > MaxDisclosures {
		return Parts{}, ErrTooManyDisclosures
	}
	var p Parts
	jwt, rest, _ := strings.Cut(s, "~")
	p.IssuerJWT = jwt
	if n > 1 {
		p.Disclosures = make([]string, 0, n-1)
	}
	for range n - 1 {
		var d string
		d, rest, _ = strings.Cut(rest, "~")
		if d == "" {
			return Parts{}, ErrMalformed.With("an SD-JWT has an empty disclosure", nil)
		}
		if strings.Contains(d, ".") {
			return Parts{}, ErrMalformedDisclosure.With("a JWT stands where a disclosure is expected", nil)
		}
		p.Disclosures = append(p.Disclosures, d)
	}
	p.KBJWT = rest
	if p.IssuerJWT == "" {
		return Parts{}, ErrMalformed.With("the issuer-signed JWT is missing", nil)
	}
	return p, nil
}

// SDJWT returns the compact SD-JWT without key binding: the JWT and the
// disclosures, each followed by ~. It is also the input of sd_hash.
func (p Parts) SDJWT() string {
	n := len(p.IssuerJWT) + 1
	for _, d := range p.Disclosures {
		n += len(d) + 1
	}
	var b strings.Builder
	b.Grow(n + len(p.KBJWT))
	b.WriteString(p.IssuerJWT)
	b.WriteByte('~')
	for _, d := range p.Disclosures {
		b.WriteString(d)
		b.WriteByte('~')
	}
	return b.String()
}

// String returns the compact serialization (SD-JWT or SD-JWT+KB).
func (p Parts) String() string { return p.SDJWT() + p.KBJWT }

type jsonHeader struct {
	Disclosures []string `json:"disclosures,omitempty"`
	KBJWT       string   `json:"kb_jwt,omitempty"`
	Kid         string   `json:"kid,omitempty"`
}

type jsonSig struct {
	Header    *jsonHeader `json:"header,omitempty"`
	Protected string      `json:"protected"`
	Signature string      `json:"signature"`
}

type flattened struct {
	Header    *jsonHeader `json:"header,omitempty"`
	Payload   string      `json:"payload"`
	Protected string      `json:"protected"`
	Signature string      `json:"signature"`
}

type general struct {
	Payload    string    `json:"payload"`
	Signatures []jsonSig `json:"signatures"`
}

// ToJSON returns p in the Flattened JWS JSON Serialization of RFC 9901 §8.2,
// with the disclosures (and kb_jwt) in the unprotected header.
func (p Parts) ToJSON() ([]byte, error) {
	h, rest, ok1 := strings.Cut(p.IssuerJWT, ".")
	pl, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return nil, ErrMalformed.With("the issuer-signed JWT is not compact", nil)
	}
	f := flattened{Payload: pl, Protected: h, Signature: sig,
		Header: &jsonHeader{Disclosures: p.Disclosures, KBJWT: p.KBJWT}}
	return json.Marshal(f)
}

// FromJSON reads the Flattened or General JWS JSON Serialization of
// RFC 9901 §8 and returns the equivalent compact Parts (whose SDJWT() is
// the sd_hash input of §8.1). In the General form only the first
// signature is used, and disclosures or kb_jwt in any later header are
// refused. Unknown members are refused.
func FromJSON(data []byte, maxSize int) (Parts, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(data) > maxSize {
		return Parts{}, jose.ErrTooLarge
	}
	if err := jsonx.Check(data, jsonx.MaxDepth); err != nil {
		return Parts{}, err
	}
	var probe map[string]jsontext.Value
	if err := json.Unmarshal(data, &probe); err != nil {
		return Parts{}, ErrMalformed.With("the JSON serialization is not an object", err)
	}
	var payload string
	var first jsonSig
	if _, ok := probe["signatures"]; ok {
		var g general
		if err := jsonx.Unmarshal(data, &g, true); err != nil {
			return Parts{}, err
		}
		if len(g.Signatures) == 0 {
			return Parts{}, ErrMalformed.With("no signature", nil)
		}
		for _, s := range g.Signatures[1:] {
			if s.Header != nil && (s.Header.Disclosures != nil || s.Header.KBJWT != "") {
				return Parts{}, ErrMalformed.With("disclosures belong in the first header only", nil)
			}
		}
		payload, first = g.Payload, g.Signatures[0]
	} else {
		var f flattened
		if err := jsonx.Unmarshal(data, &f, true); err != nil {
			return Parts{}, err
		}
		payload, first = f.Payload, jsonSig{Header: f.Header, Protected: f.Protected, Signature: f.Signature}
	}
	if first.Protected == "" || payload == "" || first.Signature == "" {
		return Parts{}, ErrMalformed.With("protected, payload and signature are required", nil)
	}
	p := Parts{IssuerJWT: first.Protected + "." + payload + "." + first.Signature}
	if h := first.Header; h != nil {
		p.Disclosures, p.KBJWT = h.Disclosures, h.KBJWT
	}
	if len(p.Disclosures) > MaxDisclosures {
		return Parts{}, ErrTooManyDisclosures
	}
	for _, d := range p.Disclosures {
		if d == "" || strings.ContainsAny(d, "~.") {
			return Parts{}, ErrMalformedDisclosure.With("a disclosure is malformed", nil)
		}
	}
	if strings.Contains(p.String(), "~~") || strings.Count(p.IssuerJWT, ".") != 2 || strings.Contains(p.KBJWT, "~") {
		return Parts{}, ErrMalformed.With("a component is malformed", nil)
	}
	return p, nil
}
