package oid4vp

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

func marshalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	return b, nil
}

// EncryptResponse returns the direct_post.jwt response parameter for r
// (§8.3): a compact JWE, ECDH-ES to key (which must be EC P-256 with alg
// ECDH-ES, from client_metadata.jwks), with enc (A128GCM or A256GCM) and
// key's kid in the protected header. The payload carries the response
// parameters as top-level members, vp_token as a JSON object.
func EncryptResponse(r *Response, key keys.JWK, enc string) (string, error) {
	if key.Kty != "EC" || key.Crv != "P-256" || key.Alg != JWEAlg {
		return "", invalidRequest("the encryption key is not an ECDH-ES P-256 key")
	}
	ce, ok := contentAlg(enc)
	if !ok {
		return "", invalidRequest("the content encryption algorithm is not supported")
	}
	pub, err := key.PublicKey()
	if err != nil {
		return "", invalidRequest("the encryption key is unusable").With("", err)
	}
	payload, err := marshalJSON(r.params())
	if err != nil {
		return "", err
	}
	h := jwe.NewHeaders()
	if key.Kid != "" {
		if err := h.Set("kid", key.Kid); err != nil {
			return "", errs.Wrap(errs.Internal, "internal", "", err)
		}
	}
	out, err := jwe.Encrypt(payload,
		jwe.WithKey(jwa.ECDH_ES(), pub),
		jwe.WithContentEncryption(ce),
		jwe.WithProtectedHeaders(h),
		jwe.WithCompact())
	if err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "the response could not be encrypted", err)
	}
	return string(out), nil
}

func contentAlg(enc string) (jwa.ContentEncryptionAlgorithm, bool) {
	switch enc {
	case EncA128GCM:
		return jwa.A128GCM(), true
	case EncA256GCM:
		return jwa.A256GCM(), true
	}
	return jwa.ContentEncryptionAlgorithm{}, false
}

// b64 is the strict unpadded base64url of JOSE segments.
var b64 = base64.RawURLEncoding.Strict()

// DecryptResponse opens a direct_post.jwt response parameter made for
// the transaction's key priv, named kid, and returns the response in it.
// Before any decryption it refuses, as invalid_encrypted_response: more
// than MaxResponseSize (vp_token_too_large), anything but a compact JWE
// of five parts, a protected header that is not JSON, alg other than
// ECDH-ES, enc not in encs (nil means SupportedEncs), zip, crit, a kid
// other than kid, or a non-empty encrypted key. A JWE for another key
// fails to decrypt, also invalid_encrypted_response. The decrypted payload
// must be a JSON object with a vp_token object (ParseVPToken's rules) or
// an error, and a state string.
func DecryptResponse(s string, priv *ecdsa.PrivateKey, kid string, encs []string) (*Response, error) {
	k, err := priv.ECDH()
	if err != nil {
		return nil, ErrEncryptedResponse.With("the transaction's key is not an ECDH key", err)
	}
	return DecryptResponseECDH(s, k, kid, encs)
}

// DecryptResponseECDH is DecryptResponse with the key in crypto/ecdh's
// form, for a verifier that converts each transaction's key once (the
// conversion computes the public key, a scalar multiplication).
func DecryptResponseECDH(s string, priv *ecdh.PrivateKey, kid string, encs []string) (*Response, error) {
	if len(s) > MaxResponseSize {
		return nil, ErrVPTokenTooLarge
	}
	if encs == nil {
		encs = SupportedEncs
	}
	parts := strings.Split(s, ".")
	if len(parts) != 5 {
		return nil, ErrEncryptedResponse.With("the response is not a compact JWE", nil)
	}
	if parts[1] != "" {
		return nil, ErrEncryptedResponse.With("ECDH-ES carries no encrypted key", nil)
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, ErrEncryptedResponse.With("the JWE header is not base64url", nil)
	}
	h, err := jose.ParseClaims(hb)
	if err != nil {
		return nil, ErrEncryptedResponse.With("the JWE header is not a JSON object", err)
	}
	alg, _, _ := h.String("alg")
	enc, _, _ := h.String("enc")
	hkid, _, _ := h.String("kid")
	switch {
	case alg != JWEAlg:
		return nil, ErrEncryptedResponse.With("the JWE alg must be ECDH-ES", nil)
	case !slices.Contains(encs, enc):
		return nil, ErrEncryptedResponse.With("the JWE enc is not accepted", nil)
	case h["zip"] != nil || h["crit"] != nil:
		return nil, ErrEncryptedResponse.With("the JWE header has zip or crit", nil)
	case hkid != kid:
		return nil, ErrEncryptedResponse.With("the JWE is not for this transaction's key", nil)
	}
	if _, ok := h["epk"].(map[string]any); !ok {
		return nil, ErrEncryptedResponse.With("the JWE header has no epk", nil)
	}
	plain, err := jwe.Decrypt([]byte(s), jwe.WithKey(jwa.ECDH_ES(), priv))
	if err != nil {
		return nil, ErrEncryptedResponse.With("the JWE does not decrypt with this transaction's key", err)
	}
	c, err := jose.ParseClaims(plain)
	if err != nil {
		return nil, invalidRequest("the decrypted response is not a JSON object").With("", err)
	}
	r := &Response{}
	var ok bool
	if st, present := c["state"]; present {
		if r.State, ok = st.(string); !ok {
			return nil, invalidRequest("state must be a string")
		}
	}
	if e, present := c["error"]; present {
		if r.Error, ok = e.(string); !ok || r.Error == "" || len(r.Error) > 64 {
			return nil, invalidRequest("error must be a short string")
		}
		r.ErrorDescription, _ = c["error_description"].(string)
		return r, nil
	}
	if r.VPToken, err = vpTokenFrom(c["vp_token"]); err != nil {
		return nil, err
	}
	return r, nil
}
