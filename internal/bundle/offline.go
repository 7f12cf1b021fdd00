package bundle

import (
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// Offline KB-JWT rules of docs/offline-qr.md §9.
const (
	// OfflineAudiencePrefix: the offline KB-JWT's aud is this and the
	// venue's DID.
	OfflineAudiencePrefix = "offline:"
	// DefaultOfflineWindow is W, how old an offline KB-JWT's iat may be.
	DefaultOfflineWindow = 60 * time.Second
	// OfflineFutureSkew is S, how far ahead of the venue's clock it may be.
	OfflineFutureSkew = 10 * time.Second
)

// OfflineKB checks, of a presentation whose KB-JWT was verified (its
// signature by cnf, aud and sd_hash), the offline rules sdjwt does not
// know: a wallet nonce of 22 to 64 base64url characters (invalid_nonce)
// and iat within [now − window, now + S] (stale_key_binding). It returns
// the nonce and how long it must be remembered: until iat + window + S.
func OfflineKB(pres string, now time.Time, window time.Duration) (nonce string, until time.Time, err error) {
	kb := pres[strings.LastIndex(pres, "~")+1:]
	j, err := jose.ParseUnverified(kb, 0)
	if err != nil {
		return "", time.Time{}, err
	}
	c, err := j.Claims()
	if err != nil {
		return "", time.Time{}, err
	}
	nonce, _, _ = c.String("nonce")
	if !walletNonce(nonce) {
		return "", time.Time{}, sdjwt.ErrInvalidNonce.With("an offline nonce is 22 to 64 base64url characters", nil)
	}
	iat, _, _ := c.NumericDate("iat")
	if iat.After(now.Add(OfflineFutureSkew)) || iat.Before(now.Add(-window)) {
		return "", time.Time{}, sdjwt.ErrStaleKeyBinding
	}
	return nonce, iat.Add(window + OfflineFutureSkew), nil
}

func walletNonce(n string) bool {
	if len(n) < 22 || len(n) > 64 {
		return false
	}
	return strings.IndexFunc(n, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0
}
