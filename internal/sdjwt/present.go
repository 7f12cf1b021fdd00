package sdjwt

import (
	"fmt"

	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// KeyBinding is what the holder binds a presentation to.
type KeyBinding struct {
	// Signer is the holder key named by the credential's cnf.jwk.
	Signer   keys.Signer
	Nonce    string
	Audience string
	IssuedAt time.Time // the holder's clock; required
	// TransactionDataHashes and TransactionDataHashesAlg, when set, are
	// the KB-JWT's transaction_data_hashes and transaction_data_hashes_alg
	// (OpenID4VP 1.0 Appendix B.3.3).
	TransactionDataHashes    []string
	TransactionDataHashesAlg string
}

// kbClaims is the KB-JWT payload, in the member order of RFC 9901 §4.3.
type kbClaims struct {
	Nonce    string   `json:"nonce"`
	Aud      string   `json:"aud"`
	Iat      int64    `json:"iat"`
	SDHash   string   `json:"sd_hash"`
	TDHashes []string `json:"transaction_data_hashes,omitempty"`
	TDAlg    string   `json:"transaction_data_hashes_alg,omitempty"`
}

// KBPayload is the payload of kb's KB-JWT for a presentation whose
// sd_hash is sdHash (its Signer is not used): what a holder whose key is
// elsewhere (a phone's) signs.
func KBPayload(kb KeyBinding, sdHash string) ([]byte, error) {
	b, err := json.Marshal(kbClaims{
		Nonce: kb.Nonce, Aud: kb.Audience, Iat: kb.IssuedAt.Unix(),
		SDHash: sdHash, TDHashes: kb.TransactionDataHashes, TDAlg: kb.TransactionDataHashesAlg,
	})
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "encoding the KB-JWT", err)
	}
	return b, nil
}

// Present builds a presentation of the SD-JWT sdjwt (as stored by the
// holder) that reveals the claims at the JSON Pointers in reveal (pointers
// into the payload as processed with every disclosure). Revealing a claim
// adds the disclosures of its parents and of everything below it, so the
// verifier sees the whole value. The disclosures keep their issued order.
// With kb, a KB-JWT (typ kb+jwt, nonce, aud, iat, sd_hash) is appended.
//
// An input that already carries a KB-JWT is unexpected_key_binding; a
// pointer that names no claim is unknown_claim_path. Present does not check
// the issuer's signature: the wallet does that once, on receipt, with
// Verifier.Verify(sdjwt, Options{FromIssuer: true}).
func Present(sdjwt string, reveal []string, kb *KeyBinding) (string, error) {
	p, err := Split(sdjwt, 0)
	if err != nil {
		return "", err
	}
	if p.KBJWT != "" {
		return "", ErrUnexpectedKeyBinding
	}
	jws, err := jose.ParseUnverified(p.IssuerJWT, 0)
	if err != nil {
		return "", fmt.Errorf("parsing the issuer-signed JWT: %w", err)
	}
	claims, err := jws.Claims()
	if err != nil {
		return "", err
	}
	alg := SHA256
	if s, ok := claims["_sd_alg"].(string); ok {
		alg = s
	}
	if _, ok := hashFor(alg); !ok {
		return "", ErrUnsupportedSDAlg
	}
	ds := make([]*Disclosure, len(p.Disclosures))
	for k, enc := range p.Disclosures {
		if ds[k], err = decodeDisclosure(enc, alg); err != nil {
			return "", err
		}
	}
	proc, err := newProcessor(alg, ds)
	if err != nil {
		return "", err
	}
	full, err := proc.run(claims)
	if err != nil {
		return "", err
	}
	keep := make([]bool, len(ds))
	for _, r := range reveal {
		if !resolves(map[string]any(full), r) {
			return "", ErrUnknownPath.With("no claim at "+strconv.Quote(r), nil)
		}
		for k, d := range ds {
			if related(d.Path, r) {
				keep[k] = true
			}
		}
	}
	out := Parts{IssuerJWT: p.IssuerJWT}
	for k, d := range ds {
		if keep[k] {
			out.Disclosures = append(out.Disclosures, d.Encoded)
		}
	}
	if kb == nil {
		return out.SDJWT(), nil
	}
	if kb.Signer == nil || kb.Nonce == "" || kb.Audience == "" || kb.IssuedAt.IsZero() {
		return "", errs.E(errs.Internal, "internal", "key binding needs a signer, a nonce, an audience and a time")
	}
	payload, err := KBPayload(*kb, sdHash(alg, out))
	if err != nil {
		return "", err
	}
	out.KBJWT, err = jose.Sign(kb.Signer, map[string]any{"typ": TypKBJWT}, payload)
	if err != nil {
		return "", fmt.Errorf("signing the KB-JWT: %w", err)
	}
	return out.String(), nil
}

// related reports whether the disclosure at path must go with a reveal of
// ptr: it is ptr itself, one of its parents, or below it.
func related(path, ptr string) bool {
	return path == ptr || ptr == "" ||
		strings.HasPrefix(ptr, path+"/") || strings.HasPrefix(path, ptr+"/")
}

// resolves reports whether the JSON Pointer ptr names a value in v.
func resolves(v any, ptr string) bool {
	if ptr == "" {
		return true
	}
	if ptr[0] != '/' {
		return false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t := v.(type) {
		case map[string]any:
			next, ok := t[tok]
			if !ok {
				return false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) || strconv.Itoa(i) != tok {
				return false
			}
			v = t[i]
		default:
			return false
		}
	}
	return true
}
