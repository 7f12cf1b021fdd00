package keys

import (
	"crypto/rand"

	"github.com/ssi-project/ssi/internal/errs"
)

// ErrSealedData: a data blob cannot be opened (wrong key, changed byte,
// other context, unknown format). Like ErrSealedKey it never says which.
var ErrSealedData = errs.E(errs.Internal, "sealed_data_invalid", "the sealed data cannot be opened")

// data envelope layout, version 1:
//
//	"SSID" | 0x01 | nonce(12) | AES-256-GCM(plaintext) || tag
//
// The GCM additional data is the header followed by the caller's context,
// so a blob opens only with the context it was sealed for (an account and
// a row, say): a ciphertext pasted into another row or account fails.
const dataMagic = "SSID"

// NewDataKey returns a fresh random 32-byte key for SealData.
func NewDataKey() (KEK, error) {
	var k KEK
	if _, err := rand.Read(k[:]); err != nil {
		return KEK{}, errs.Wrap(errs.Internal, "sealing_failed", "a data key could not be made", err)
	}
	return k, nil
}

// SealData encrypts plaintext under key, bound to context.
func SealData(key KEK, plaintext, context []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	header := []byte{dataMagic[0], dataMagic[1], dataMagic[2], dataMagic[3], 1}
	out := make([]byte, len(header)+aead.NonceSize(), len(header)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	copy(out, header)
	nonce := out[len(header):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, errs.Wrap(errs.Internal, "sealing_failed", "the data could not be sealed", err)
	}
	return aead.Seal(out, nonce, plaintext, append(header, context...)), nil
}

// OpenData decrypts a blob made by SealData with the same key and
// context. Errors: ErrSealedData.
func OpenData(key KEK, blob, context []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	const hl = len(dataMagic) + 1
	if len(blob) < hl+aead.NonceSize()+aead.Overhead() || string(blob[:len(dataMagic)]) != dataMagic || blob[len(dataMagic)] != 1 {
		return nil, ErrSealedData
	}
	header := blob[:hl:hl]
	nonce, ct := blob[hl:hl+aead.NonceSize()], blob[hl+aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, ct, append(header, context...))
	if err != nil {
		return nil, ErrSealedData.With("", err)
	}
	return pt, nil
}
