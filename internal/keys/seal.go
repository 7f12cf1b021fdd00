package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/ssi-project/ssi/internal/errs"
)

// KEK is a 32-byte AES-256 key-encryption key. The config loads it from a
// file or an environment variable and hands it over through ParseKEK.
type KEK [32]byte

// Errors of the at-rest envelope. The details never say which check failed
// beyond "cannot open", so a blob cannot be probed.
var (
	ErrInvalidKEK    = errs.E(errs.Invalid, "invalid_kek", "the key-encryption key must be 32 bytes in base64 or hex")
	ErrSealedKey     = errs.E(errs.Internal, "sealed_key_invalid", "the sealed key cannot be opened")
	ErrNotExportable = errs.E(errs.Internal, "key_not_exportable", "only software keys can be sealed")
)

// envelope layout, version 2:
//
//	"SSIK" | 0x02 | len(alg) | alg | len(kid) | kid | nonce(12) | AES-256-GCM(private | public) || tag
//
// private is the P-256 scalar (32 bytes) or the Ed25519 seed (32 bytes);
// public is the uncompressed P-256 point (65 bytes) or the Ed25519 public
// key (32 bytes). Keeping the public key under the same authentication saves
// Open a scalar multiplication per key (the holder opens one key per
// presentation). Version 1, still opened, held the private part alone and
// Open derived the public key from it.
//
// Everything before the nonce is the GCM additional data, so changing the
// version, alg or kid of a blob, or pasting one key's ciphertext under
// another's header, fails authentication; Open also recomputes the kid from
// the key's public part and compares.
const (
	sealMagic   = "SSIK"
	sealVersion = 2
)

// ParseKEK decodes a KEK given as standard or URL-safe base64 (padded or
// not) or as 64 hex digits, surrounding whitespace ignored. Anything that is
// not exactly 32 bytes is ErrInvalidKEK; the error never echoes the input.
func ParseKEK(s string) (KEK, error) {
	s = strings.TrimSpace(s)
	var k KEK
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			copy(k[:], b)
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.Strict().DecodeString(s)
		if err == nil && len(b) == len(k) {
			copy(k[:], b)
			return k, nil
		}
	}
	return KEK{}, ErrInvalidKEK
}

// Seal encrypts a software signer's private key under kek in the versioned
// envelope above. A signer that is not a software key of this package (a
// KMS key, say) is ErrNotExportable.
func Seal(s Signer, kek KEK) ([]byte, error) {
	sw, ok := s.(*software)
	if !ok {
		return nil, ErrNotExportable
	}
	priv, err := sw.privateBytes()
	if err != nil {
		return nil, ErrNotExportable.With("", err)
	}
	defer clear(priv)
	pub, err := sw.publicBytes()
	if err != nil {
		return nil, ErrNotExportable.With("", err)
	}
	plain := append(priv, pub...)
	defer clear(plain)
	header := make([]byte, 0, 8+len(sw.alg)+len(sw.kid))
	header = append(header, sealMagic...)
	header = append(header, sealVersion, byte(len(sw.alg)))
	header = append(header, sw.alg...)
	header = append(header, byte(len(sw.kid)))
	header = append(header, sw.kid...)
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, errs.Wrap(errs.Internal, "sealing_failed", "the key could not be sealed", err)
	}
	out := append(append([]byte(nil), header...), nonce...)
	return aead.Seal(out, nonce, plain, header), nil
}

// Open decrypts a blob made by Seal and returns its Signer. A wrong KEK, a
// changed byte anywhere, an unknown version or alg, or a kid that does not
// match the decrypted key are all ErrSealedKey. Callers that stored the blob
// under a kid should still compare it with KeyID().
func Open(blob []byte, kek KEK) (Signer, error) {
	rest, ok := strings.CutPrefix(string(blob), sealMagic)
	if !ok || len(rest) < 2 || (rest[0] != 1 && rest[0] != sealVersion) {
		return nil, ErrSealedKey.With("the sealed key has an unknown format", nil)
	}
	alg, rest, ok := cutLen(rest[1:])
	if !ok {
		return nil, ErrSealedKey
	}
	kid, rest, ok := cutLen(rest)
	if !ok {
		return nil, ErrSealedKey
	}
	header := blob[:len(blob)-len(rest)]
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrSealedKey
	}
	nonce, ct := []byte(rest[:aead.NonceSize()]), []byte(rest[aead.NonceSize():])
	priv, err := aead.Open(nil, nonce, ct, header)
	if err != nil {
		return nil, ErrSealedKey.With("", err)
	}
	var s *software
	if blob[len(sealMagic)] == 1 {
		s, err = privateFromBytes(alg, priv)
	} else {
		s, err = keyPairFromBytes(alg, priv)
	}
	clear(priv)
	if err != nil {
		return nil, ErrSealedKey.With("", err)
	}
	if s.kid != kid {
		return nil, ErrSealedKey.With("the sealed key does not match its key id", nil)
	}
	return s, nil
}

func cutLen(s string) (field, rest string, ok bool) {
	if len(s) < 1 {
		return "", "", false
	}
	n := int(s[0])
	if len(s) < 1+n {
		return "", "", false
	}
	return s[1 : 1+n], s[1+n:], true
}

func newAEAD(kek KEK) (cipher.AEAD, error) {
	block, err := aes.NewCipher(kek[:])
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "sealing_failed", "the key-encryption key is unusable", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "sealing_failed", "the key-encryption key is unusable", err)
	}
	return aead, nil
}
