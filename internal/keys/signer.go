package keys

import "crypto"

// Signer is a signing key as every JOSE producer in ssi sees it: a
// crypto.Signer (so a KMS or PKCS#11 key can stand behind it later without
// changing callers) that is bound to exactly one JOSE algorithm and is named
// by its RFC 7638 JWK thumbprint.
//
// For ES256, Sign receives a SHA-256 digest and returns an ASN.1 DER ECDSA
// signature, as crypto.Signer requires; JOSE code converts it to raw R||S.
// For EdDSA, Sign receives the whole message and crypto.Hash(0).
type Signer interface {
	crypto.Signer
	// Algorithm is the one JOSE alg this key signs with: "ES256" or "EdDSA".
	Algorithm() string
	// KeyID is the base64url RFC 7638 SHA-256 thumbprint of the public key.
	KeyID() string
}
