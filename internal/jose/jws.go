package jose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/go-json-experiment/json"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
)

// DefaultMaxSize caps a compact JWS when VerifyOptions.MaxSize is zero. It
// is checked before the token is split (SECURITY-CASES A12).
const DefaultMaxSize = 1 << 20

// maxKidLen bounds a kid before it reaches a key lookup (SECURITY-CASES A6).
const maxKidLen = 512

// registeredHeaders are the RFC 7515/7516 header names that `crit` must
// never list.
var registeredHeaders = map[string]bool{
	"alg": true, "jku": true, "jwk": true, "kid": true, "x5u": true, "x5c": true,
	"x5t": true, "x5t#S256": true, "typ": true, "cty": true, "crit": true,
	"enc": true, "zip": true, "epk": true, "apu": true, "apv": true, "iv": true,
	"tag": true, "p2s": true, "p2c": true,
}

// b64 is the strict unpadded base64url of JWS segments.
var b64 = base64.RawURLEncoding.Strict()

// Sign returns the compact JWS of payload signed by s. header carries the
// other header members (typ, kid, …); alg is always s.Algorithm(), and a
// header that names another alg is refused. payload must be one JSON value
// that passes jsonx.Check. ECDSA signatures are converted from the DER that
// crypto.Signer returns to raw R||S. Header members are written in sorted
// order.
func Sign(s keys.Signer, header map[string]any, payload []byte) (string, error) {
	alg := s.Algorithm()
	if alg != keys.ES256 && alg != keys.EdDSA {
		return "", ErrUnsupportedAlg.With(fmt.Sprintf("signer algorithm %q", alg), nil)
	}
	if a, ok := header["alg"]; ok && a != alg {
		return "", ErrUnsupportedAlg.With("the header alg differs from the signer's", nil)
	}
	if err := jsonx.Check(payload, jsonx.MaxDepth); err != nil {
		return "", fmt.Errorf("checking the payload: %w", err)
	}
	h := make(map[string]any, len(header)+1)
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = alg
	hj, err := json.Marshal(h, json.Deterministic(true))
	if err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "encoding the JWS header", err)
	}
	return SignEncoded(s, hj, payload)
}

// SignEncoded signs the exact header and payload JSON bytes given (the
// header must already contain the signer's alg). It lets callers that build
// the header themselves avoid a map round trip.
func SignEncoded(s keys.Signer, headerJSON, payload []byte) (string, error) {
	hl, pl := b64.EncodedLen(len(headerJSON)), b64.EncodedLen(len(payload))
	buf := make([]byte, hl+1+pl, hl+1+pl+1+86)
	b64.Encode(buf, headerJSON)
	buf[hl] = '.'
	b64.Encode(buf[hl+1:], payload)
	sig, err := signRaw(s, buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}

func signRaw(s keys.Signer, signingInput []byte) ([]byte, error) {
	switch s.Algorithm() {
	case keys.ES256:
		sum := sha256.Sum256(signingInput)
		der, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("signing with ES256: %w", err)
		}
		raw, ok := derToRaw(der, 32)
		if !ok {
			return nil, errs.E(errs.Internal, "internal", "the signer returned a malformed ECDSA signature")
		}
		return raw, nil
	case keys.EdDSA:
		sig, err := s.Sign(rand.Reader, signingInput, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("signing with EdDSA: %w", err)
		}
		if len(sig) != ed25519.SignatureSize {
			return nil, errs.E(errs.Internal, "internal", "the signer returned a malformed Ed25519 signature")
		}
		return sig, nil
	}
	return nil, ErrUnsupportedAlg
}

// derToRaw converts an ASN.1 ECDSA signature to fixed-size R||S.
func derToRaw(der []byte, size int) ([]byte, bool) {
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, false
	}
	out := make([]byte, 2*size)
	if !putInt(out[:size], r) || !putInt(out[size:], s) {
		return nil, false
	}
	return out, true
}

func putInt(dst, v []byte) bool {
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) > len(dst) {
		return false
	}
	copy(dst[len(dst)-len(v):], v)
	return true
}

// PublicKey is a verification key bound to its one algorithm.
type PublicKey struct {
	Key crypto.PublicKey // *ecdsa.PublicKey (P-256) or ed25519.PublicKey
	Alg string           // ES256 or EdDSA
}

// KeyLookup finds the one key that may have signed a token. It gets the
// parsed header and the payload, which is NOT yet verified, may only be
// used to locate the key (for example by iss) and must not be modified. It
// returns ErrUnknownKey (or another *errs.Error) when there is none. It
// never sees, and must never use, a key embedded in the header.
type KeyLookup func(h *Header, payload []byte) (PublicKey, error)

// VerifyOptions says what Verify accepts. Typ is required.
type VerifyOptions struct {
	// Typ lists the accepted `typ` values. A missing or different typ is
	// wrong_typ. Comparison ignores case and an "application/" prefix
	// (RFC 7515 §4.1.9).
	Typ []string
	// Algs is the exact-match allow-list; nil means {ES256, EdDSA}. Names
	// outside that set are never accepted.
	Algs []string
	// Key finds the verification key. Required unless HeaderJWKIsHolderKey.
	Key KeyLookup
	// Crit lists the extension header names this caller understands and
	// checks itself; a crit entry not listed here is unsupported_crit.
	Crit []string
	// MaxSize caps the token length in bytes; 0 means DefaultMaxSize.
	MaxSize int
	// HeaderJWKIsHolderKey is ONLY for the two proof-of-possession JWTs,
	// where the header's `jwk` is the key being proven: the OpenID4VCI key
	// proof and the DPoP proof (RFC 9449). The token must carry a public
	// `jwk` (a `d` is private_jwk) and no kid, x5c, jku or x5u
	// (untrusted_key); Key is not called. Never set it anywhere else.
	HeaderJWKIsHolderKey bool
}

// JWS is a parsed compact JWS.
type JWS struct {
	Header Header
	// Payload is the decoded payload (it passed jsonx.Check). It shares
	// memory with the strings of the decoded claims: read it, never modify it.
	Payload []byte
	Key     PublicKey // the key that verified it (after Verify)
	// HeaderJWK is the proof key when HeaderJWKIsHolderKey was set.
	HeaderJWK keys.JWK

	signingInput string
	sig          []byte
	// value is the payload decoded at parse time, handed out once by Claims.
	value any
}

// Claims returns the payload as a JSON object. The first call hands over
// the value decoded while parsing (the caller may modify it); later calls
// decode the payload afresh.
func (j *JWS) Claims() (Claims, error) {
	v := j.value
	j.value = nil
	if v == nil {
		var err error
		if v, err = parseOwned(j.Payload); err != nil {
			return nil, err
		}
	}
	return asClaims(v)
}

// Verify parses a compact JWS and checks it against opts, in this order:
// size cap, compact form (JSON serialization and JWE refused), header JSON,
// alg allow-list (none and MAC algorithms are unsupported_alg), crit, typ,
// header keys (untrusted_key), payload JSON, signature encoding, key lookup
// and signature. It returns the token only if every check passed.
func Verify(token string, opts VerifyOptions) (*JWS, error) {
	j, err := ParseUnverified(token, opts.MaxSize)
	if err != nil {
		return nil, err
	}
	if err := j.check(&opts); err != nil {
		return nil, err
	}
	return j, nil
}

// ParseUnverified splits and decodes a compact JWS without checking alg,
// typ, crit or the signature. The result must not be trusted; it exists for
// fuzzing and for callers that verify it with VerifyParsed.
func ParseUnverified(token string, maxSize int) (*JWS, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(token) > maxSize {
		return nil, ErrTooLarge
	}
	if strings.HasPrefix(strings.TrimLeft(token, " \t\r\n"), "{") {
		return nil, ErrMalformed.With("the JWS JSON serialization is not accepted", nil)
	}
	switch n := strings.Count(token, "."); {
	case n == 4:
		return nil, ErrMalformed.With("a JWE is not accepted", nil)
	case n != 2:
		return nil, ErrMalformed.With("a compact JWS has three parts", nil)
	}
	h64, rest, _ := strings.Cut(token, ".")
	p64, s64, _ := strings.Cut(rest, ".")
	// The three parts decode into one allocation.
	buf := make([]byte, 0, b64.DecodedLen(len(h64))+b64.DecodedLen(len(p64))+b64.DecodedLen(len(s64)))
	buf, err := b64.AppendDecode(buf, readOnly(h64))
	if err != nil || len(buf) == 0 {
		return nil, ErrMalformed.With("the header is not base64url", err)
	}
	hj := buf[:len(buf):len(buf)]
	j := &JWS{signingInput: token[:len(h64)+1+len(p64)]}
	if err := parseHeader(hj, &j.Header); err != nil {
		return nil, err
	}
	if buf, err = b64.AppendDecode(buf, readOnly(p64)); err != nil {
		return nil, ErrMalformed.With("the payload is not base64url", err)
	}
	j.Payload = buf[len(hj):len(buf):len(buf)]
	if j.value, err = parseOwned(j.Payload); err != nil {
		return nil, fmt.Errorf("checking the JWS payload: %w", err)
	}
	n := len(buf)
	if buf, err = b64.AppendDecode(buf, readOnly(s64)); err != nil {
		return nil, ErrInvalidSignature.With("the signature is not base64url", err)
	}
	j.sig = buf[n:]
	return j, nil
}

// VerifyParsed runs the checks of Verify on a token from ParseUnverified.
func VerifyParsed(j *JWS, opts VerifyOptions) error { return j.check(&opts) }

func (j *JWS) check(opts *VerifyOptions) error {
	h := &j.Header
	// JWE-only members: nothing is ever inflated or decrypted here
	// (SECURITY-CASES A19, A20).
	if h.Has("zip") || h.Has("enc") {
		return ErrMalformed.With("JWE header members are not accepted in a JWS", nil)
	}
	if err := checkAlg(h.Alg, opts.Algs); err != nil {
		return err
	}
	if err := checkCrit(h, opts.Crit); err != nil {
		return err
	}
	if len(opts.Typ) == 0 {
		return errs.E(errs.Internal, "internal", "no expected typ configured")
	}
	if !typMatches(h.Typ, opts.Typ) {
		return ErrWrongTyp
	}
	var key PublicKey
	if opts.HeaderJWKIsHolderKey {
		k, err := j.headerJWK()
		if err != nil {
			return err
		}
		key = k
	} else {
		for _, name := range [...]string{"jwk", "x5c", "jku", "x5u"} {
			if h.Has(name) {
				return ErrUntrustedKey.With(fmt.Sprintf("header %q is not accepted", name), nil)
			}
		}
		if len(h.Kid) > maxKidLen || strings.ContainsFunc(h.Kid, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return ErrUnknownKey
		}
		if opts.Key == nil {
			return errs.E(errs.Internal, "internal", "no key lookup configured")
		}
		k, err := opts.Key(h, j.Payload)
		if err != nil {
			var e *errs.Error
			if errors.As(err, &e) {
				return err
			}
			return ErrUnknownKey.With("", err)
		}
		key = k
	}
	if key.Alg != h.Alg {
		return ErrUnsupportedAlg.With("the key does not work with this alg", nil)
	}
	if err := verifySig(key, j.signingInput, j.sig); err != nil {
		return err
	}
	j.Key = key
	return nil
}

func (j *JWS) headerJWK() (PublicKey, error) {
	h := &j.Header
	for _, name := range [...]string{"kid", "x5c", "jku", "x5u"} {
		if h.Has(name) {
			return PublicKey{}, ErrUntrustedKey.With(fmt.Sprintf("header %q is not accepted with jwk", name), nil)
		}
	}
	raw, ok := h.members["jwk"]
	if !ok {
		return PublicKey{}, ErrUntrustedKey.With("the proof header has no jwk", nil)
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return PublicKey{}, ErrInvalidJWK.With("jwk is not an object", nil)
	}
	k, pub, err := HolderKey(m)
	if err != nil {
		return PublicKey{}, err
	}
	j.HeaderJWK = k
	return pub, nil
}

func checkAlg(alg string, allow []string) error {
	if alg != keys.ES256 && alg != keys.EdDSA {
		return ErrUnsupportedAlg
	}
	if allow == nil {
		return nil
	}
	for _, a := range allow {
		if a == alg {
			return nil
		}
	}
	return ErrUnsupportedAlg.With("the algorithm is not allowed here", nil)
}

func checkCrit(h *Header, understood []string) error {
	raw, ok := h.members["crit"]
	if !ok {
		return nil
	}
	list, isList := raw.([]any)
	if !isList || len(list) == 0 {
		return ErrUnsupportedCrit.With("crit must be a non-empty array of names", nil)
	}
	seen := make(map[string]bool, len(list))
	for _, e := range list {
		n, isStr := e.(string)
		switch {
		case !isStr:
			return ErrUnsupportedCrit.With("crit must be a non-empty array of names", nil)
		case seen[n], registeredHeaders[n]:
			return ErrUnsupportedCrit.With("crit lists a registered or repeated name", nil)
		case !h.Has(n):
			return ErrUnsupportedCrit.With("crit names an absent header", nil)
		}
		known := false
		for _, u := range understood {
			known = known || u == n
		}
		if !known {
			return ErrUnsupportedCrit.With("crit names an extension we do not understand", nil)
		}
		seen[n] = true
	}
	return nil
}

func typMatches(got string, want []string) bool {
	norm := func(s string) string {
		if len(s) > 12 && strings.EqualFold(s[:12], "application/") {
			s = s[12:]
		}
		return s
	}
	g := norm(got)
	if g == "" {
		return false
	}
	for _, w := range want {
		if strings.EqualFold(g, norm(w)) {
			return true
		}
	}
	return false
}

var p256N = elliptic.P256().Params().N.FillBytes(make([]byte, 32))

// inScalarRange reports whether the 32-byte big-endian v is in [1, n-1].
func inScalarRange(v []byte) bool {
	return bytes.Compare(v, p256N) < 0 && !bytes.Equal(v, make([]byte, 32))
}

// rawToDER appends the ASN.1 DER SEQUENCE of the two 32-byte unsigned
// integers r and s (each at most 33 content bytes, so lengths fit one byte).
func rawToDER(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	lr, ls := len(r)+int(r[0]>>7), len(s)+int(s[0]>>7)
	dst = append(dst, 0x30, byte(4+lr+ls))
	dst = appendDERInt(dst, r, lr)
	return appendDERInt(dst, s, ls)
}

func trimZeros(v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	return v
}

func appendDERInt(dst, v []byte, n int) []byte {
	dst = append(dst, 0x02, byte(n))
	if n > len(v) {
		dst = append(dst, 0)
	}
	return append(dst, v...)
}

// VerifyES256 checks a raw 64-byte R||S ES256 signature over signingInput
// with pub (a P-256 key), as Verify does for a JWS: for callers that
// assemble a JWS Verify does not read (the SMART Health Card's, whose
// payload is DEFLATE-compressed). It returns ErrInvalidSignature or
// ErrUnsupportedAlg.
func VerifyES256(pub *ecdsa.PublicKey, signingInput string, sig []byte) error {
	return verifySig(PublicKey{Key: pub, Alg: keys.ES256}, signingInput, sig)
}

func verifySig(key PublicKey, signingInput string, sig []byte) error {
	switch key.Alg {
	case keys.ES256:
		pub, ok := key.Key.(*ecdsa.PublicKey)
		if !ok || pub == nil || pub.Curve != elliptic.P256() {
			return ErrUnsupportedAlg.With("ES256 needs a P-256 key", nil)
		}
		if len(sig) != 64 {
			return ErrInvalidSignature.With("an ES256 signature is 64 raw bytes", nil)
		}
		r, s := sig[:32], sig[32:]
		if !inScalarRange(r) || !inScalarRange(s) {
			return ErrInvalidSignature
		}
		sum := sha256.Sum256(readOnly(signingInput))
		var der [72]byte
		if !ecdsa.VerifyASN1(pub, sum[:], rawToDER(der[:0], r, s)) {
			return ErrInvalidSignature
		}
		return nil
	case keys.EdDSA:
		pub, ok := key.Key.(ed25519.PublicKey)
		if !ok || len(pub) != ed25519.PublicKeySize {
			return ErrUnsupportedAlg.With("EdDSA needs an Ed25519 key", nil)
		}
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, readOnly(signingInput), sig) {
			return ErrInvalidSignature
		}
		return nil
	}
	return ErrUnsupportedAlg
}

// readOnly returns the bytes of s without copying them. The result must
// only be read: it serves hashing, verifying and base64-decoding the parts
// of a token, which is up to DefaultMaxSize long.
func readOnly(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
