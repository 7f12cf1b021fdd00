package trust

import (
	"context"
	"errors"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
)

// ResolveAtFunc resolves a DID as it was at an instant (Client.ResolveAt,
// or a service's trust interface over it).
type ResolveAtFunc func(ctx context.Context, d string, at time.Time) (*did.Resolution, error)

// KeyInSecond returns issuer's assertion key kid as it was in force at
// some instant of the whole second that iat names (a JWT's iat counts
// whole seconds: the token was signed in [iat, iat+1 s)), and that
// instant, at which the issuer's other records (accreditations) are to be
// judged (docs/did-method.md §4). The version in force at the second's
// last instant decides, which a DID created or a key added earlier in that
// second passes; when it lacks the key, the version at the second's first
// instant, which a key rotated out later in that second passes.
//
// Errors: resolve's error at the last instant, as it is (did.ErrNotFound,
// did.ErrDeactivated: a deactivated DID has no key at all, the trust
// layer's codes), or at the first instant unless that is did.ErrNotFound
// (a DID created later in the second); did.ErrUnknownKey (or the
// document's own key error) when neither version has the key.
func KeyInSecond(ctx context.Context, resolve ResolveAtFunc, issuer, kid string, iat time.Time) (jose.PublicKey, time.Time, error) {
	end := iat.Add(time.Second - time.Nanosecond)
	key, err := keyAt(ctx, resolve, issuer, kid, end)
	if err == nil || !IsKeyError(err) {
		return key, end, err
	}
	start, serr := keyAt(ctx, resolve, issuer, kid, iat)
	switch {
	case serr == nil:
		return start, iat, nil
	case IsKeyError(serr), errors.Is(serr, did.ErrNotFound):
		return jose.PublicKey{}, end, err
	default:
		return jose.PublicKey{}, iat, serr
	}
}

// keyError marks a resolution that succeeded but whose document lacks the
// key (as opposed to a resolution that failed).
type keyError struct{ err error }

func (e keyError) Error() string { return e.err.Error() }
func (e keyError) Unwrap() error { return e.err }

// IsKeyError reports whether KeyInSecond's err says the issuer resolved
// but has no such key in force (rather than that it did not resolve).
func IsKeyError(err error) bool {
	var k keyError
	return errors.As(err, &k)
}

func keyAt(ctx context.Context, resolve ResolveAtFunc, issuer, kid string, at time.Time) (jose.PublicKey, error) {
	res, err := resolve(ctx, issuer, at)
	if err != nil {
		return jose.PublicKey{}, err
	}
	if res == nil || res.Document == nil {
		return jose.PublicKey{}, did.ErrNotFound
	}
	pub, alg, err := res.Document.PublicKey(kid, did.AssertionMethod)
	if err != nil {
		return jose.PublicKey{}, keyError{err}
	}
	return jose.PublicKey{Key: pub, Alg: alg}, nil
}
