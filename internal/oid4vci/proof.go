package oid4vci

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// Media types of the JWTs the wallet makes.
const (
	TypProof = "openid4vci-proof+jwt"
	TypDPoP  = "dpop+jwt"
)

// ProofPayload is the payload of a key proof for aud (the credential
// issuer) with the issuer's nonce (none when the issuer has no nonce
// endpoint), issued at iat (§F.1).
func ProofPayload(aud, nonce string, iat time.Time) ([]byte, error) {
	c := map[string]any{"aud": aud, "iat": iat.Unix()}
	if nonce != "" {
		c["nonce"] = nonce
	}
	return json.Marshal(c)
}

// ProofHeader is the protected header of a key proof of the public key
// jwk signed with alg.
func ProofHeader(alg string, jwk keys.JWK) ([]byte, error) {
	if alg != keys.ES256 && alg != keys.EdDSA {
		return nil, keys.ErrUnsupportedAlg
	}
	return json.Marshal(map[string]any{"alg": alg, "typ": TypProof, "jwk": jwk.Map()})
}

// Proof builds an openid4vci-proof+jwt of holder for aud with nonce.
func Proof(holder keys.Signer, aud, nonce string, iat time.Time) (string, error) {
	jwk, err := jose.PublicJWK(holder.Public())
	if err != nil {
		return "", err
	}
	payload, err := ProofPayload(aud, nonce, iat)
	if err != nil {
		return "", err
	}
	return jose.Sign(holder, map[string]any{"typ": TypProof, "jwk": jwk.Map()}, payload)
}

// SigningInput is the JWS signing input (base64url header "."
// base64url payload) that a key kept elsewhere (a phone's secure
// enclave) signs; Assemble joins it with the signature.
func SigningInput(header, payload []byte) string {
	return base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
}

// ErrBadDeviceSignature: a signature returned by a device does not
// verify for the key it claims.
var ErrBadDeviceSignature = errs.E(errs.Invalid, "invalid_device_signature", "the signature does not verify for the device key")

// Assemble returns the compact JWS of signingInput and sig (raw R||S for
// ES256, 64 bytes for EdDSA), after checking that it is a JWS of media
// type typ whose signature verifies under jwk,
// so that a bad signature from a device is refused here and not by the
// issuer or verifier. Errors: ErrBadDeviceSignature.
func Assemble(signingInput string, sig []byte, typ string, jwk keys.JWK) (string, error) {
	tok := signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
	pub, err := jwk.PublicKey()
	if err != nil {
		return "", ErrBadDeviceSignature.With("", err)
	}
	alg, err := keys.AlgorithmFor(pub)
	if err != nil {
		return "", ErrBadDeviceSignature.With("", err)
	}
	pj, err := jose.ParseUnverified(tok, 0)
	if err != nil {
		return "", ErrBadDeviceSignature.With("", err)
	}
	opts := jose.VerifyOptions{Typ: []string{typ}}
	if pj.Header.Has("jwk") {
		// A key proof or DPoP proof names its key in the header: it must
		// be the device key.
		opts.HeaderJWKIsHolderKey = true
	} else {
		opts.Key = func(*jose.Header, []byte) (jose.PublicKey, error) { return jose.PublicKey{Key: pub, Alg: alg}, nil }
	}
	j, err := jose.Verify(tok, opts)
	if err != nil {
		return "", ErrBadDeviceSignature.With("", err)
	}
	if opts.HeaderJWKIsHolderKey {
		want, err1 := jwk.Thumbprint()
		got, err2 := j.HeaderJWK.Thumbprint()
		if err1 != nil || err2 != nil || want != got {
			return "", ErrBadDeviceSignature.With("the proof names another key", nil)
		}
	}
	return tok, nil
}

// DPoPProof builds a dpop+jwt proof of key for a request of method htm to
// htu, at iat, with a random jti; with an access token it carries ath,
// the token's base64url SHA-256 (RFC 9449 §4.2).
func DPoPProof(key keys.Signer, htm, htu, accessToken string, iat time.Time) (string, error) {
	jwk, err := jose.PublicJWK(key.Public())
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	c := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": htm, "htu": htu, "iat": iat.Unix()}
	if accessToken != "" {
		h := sha256.Sum256([]byte(accessToken))
		c["ath"] = base64.RawURLEncoding.EncodeToString(h[:])
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return jose.Sign(key, map[string]any{"typ": TypDPoP, "jwk": jwk.Map()}, payload)
}
