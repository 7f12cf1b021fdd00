package shc

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/ssi-project/ssi/internal/inflate"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// Prefix starts every SMART Health Card QR text.
const Prefix = "shc:/"

// Limits on hostile input. A numeric QR segment holds at most 7,089
// digits; the inflated payload of a card is a few kilobytes.
const (
	MaxTextLen  = 8192
	MaxInflated = 64 << 10
)

// DecodeNumeric turns an shc:/ text into its compact JWS. It refuses
// another prefix (shc_wrong_prefix), the chunked form shc:/C/N/…
// (shc_chunked), an overlong text (shc_too_large), and an odd number of
// digits, a non-digit or a pair over 77 (shc_bad_numeric).
func DecodeNumeric(text string) (string, error) {
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		return "", ErrPrefix
	}
	if strings.Contains(body, "/") {
		return "", ErrChunked
	}
	if len(text) > MaxTextLen {
		return "", ErrTooLarge.With("the text is longer than any QR code holds", nil)
	}
	if len(body) == 0 || len(body)%2 != 0 {
		return "", ErrNumeric.With("the numeric text has an odd or zero number of digits", nil)
	}
	out := make([]byte, len(body)/2)
	for i := range out {
		hi, lo := body[2*i]-'0', body[2*i+1]-'0'
		if hi > 9 || lo > 9 {
			return "", ErrNumeric.With("the numeric text has a character that is not a digit", nil)
		}
		v := hi*10 + lo
		if v > 'z'-45 {
			return "", ErrNumeric.With("a digit pair is over 77", nil)
		}
		out[i] = v + 45
	}
	return string(out), nil
}

// EncodeNumeric returns the shc:/ text of a compact JWS (for tests and
// tools); it does not check its input.
func EncodeNumeric(jws string) string {
	var b strings.Builder
	b.Grow(len(Prefix) + 2*len(jws))
	b.WriteString(Prefix)
	for i := range len(jws) {
		v := jws[i] - 45
		b.WriteByte('0' + v/10)
		b.WriteByte('0' + v%10)
	}
	return b.String()
}

// header is the JWS header of a card.
type header struct {
	Alg  string `json:"alg"`
	Zip  string `json:"zip"`
	Kid  string `json:"kid"`
	Crit any    `json:"crit"`
}

// Parsed is a card whose signature is NOT yet verified.
type Parsed struct {
	KID          string
	signingInput string
	sig          []byte
	// Payload is the inflated payload JSON.
	Payload []byte
}

var b64 = base64.RawURLEncoding.Strict()

// ParseJWS splits and decodes a card's compact JWS: three unpadded
// base64url parts (shc_malformed_jws), a header with alg ES256, zip DEF, a
// kid and no crit (shc_unsupported_header), a 64-byte signature, and a
// payload that is one raw DEFLATE stream (shc_bad_deflate) of at most
// MaxInflated bytes (shc_too_large).
func ParseJWS(jws string) (*Parsed, error) {
	h64, rest, ok1 := strings.Cut(jws, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, ErrJWS.With("a compact JWS has three parts", nil)
	}
	hj, err := b64.DecodeString(h64)
	if err != nil {
		return nil, ErrJWS.With("the header is not base64url", err)
	}
	var h header
	if err := jsonx.Unmarshal(hj, &h, false); err != nil {
		return nil, ErrJWS.With("the header is not a JSON object", err)
	}
	if h.Alg != "ES256" || h.Zip != "DEF" || h.Kid == "" || h.Crit != nil {
		return nil, ErrHeader
	}
	sig, err := b64.DecodeString(s64)
	if err != nil || len(sig) != 64 {
		return nil, ErrJWS.With("the signature is not 64 bytes of base64url", err)
	}
	compressed, err := b64.DecodeString(p64)
	if err != nil {
		return nil, ErrJWS.With("the payload is not base64url", err)
	}
	payload, err := inflatePayload(compressed)
	if err != nil {
		return nil, err
	}
	return &Parsed{KID: h.Kid, signingInput: jws[:len(h64)+1+len(p64)], sig: sig, Payload: payload}, nil
}

// inflatePayload reads exactly one raw DEFLATE stream of at most
// MaxInflated bytes.
func inflatePayload(b []byte) ([]byte, error) {
	out, err := inflate.Raw(b, MaxInflated)
	switch {
	case errors.Is(err, inflate.ErrTooLarge):
		return nil, ErrTooLarge.With("the payload inflates past the limit", nil)
	case err != nil:
		return nil, ErrDeflate.With("", err)
	}
	return out, nil
}
