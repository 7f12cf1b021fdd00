package trust

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
)

// TestKeyInSecond holds the rule of docs/did-method.md §4 (a key valid at
// some instant of iat's whole second) to its cases, over a history of
// versions by time: the DID created at 10.3 s with key a, which is
// rotated out for b at 20.5 s, and deactivated at 30.5 s.
func TestKeyInSecond(t *testing.T) {
	const d = "did:psr:test"
	doc := func(ids ...string) *did.Document {
		out := &did.Document{ID: d}
		for _, id := range ids {
			s, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			j, err := keys.JWKFromPublic(s.Public())
			require.NoError(t, err)
			out.VerificationMethod = append(out.VerificationMethod, did.VerificationMethod{ID: d + "#" + id, Type: "JsonWebKey", Controller: d, PublicKeyJwk: &j})
			out.AssertionMethod = append(out.AssertionMethod, did.MethodRef{Ref: d + "#" + id})
		}
		return out
	}
	base := time.Unix(1_000_000_000, 0)
	sec := func(s float64) time.Time { return base.Add(time.Duration(s * float64(time.Second))) }
	v1, v2 := doc("a"), doc("b")
	var down bool
	resolve := func(_ context.Context, _ string, at time.Time) (*did.Resolution, error) {
		switch {
		case down:
			return nil, ErrRegistry
		case at.Before(sec(10.3)):
			return nil, did.ErrNotFound
		case at.Before(sec(20.5)):
			return &did.Resolution{Document: v1}, nil
		case at.Before(sec(30.5)):
			return &did.Resolution{Document: v2}, nil
		}
		return nil, did.ErrDeactivated
	}
	for _, c := range []struct {
		name, kid string
		iat       float64
		at        float64 // the instant that decided, when found
		code      string  // "" found; "key" IsKeyError; else the error's code
		failStart bool    // the registry fails after the first resolution
	}{
		{name: "created earlier in the iat's second", kid: "a", iat: 10, at: 11 - 1e-9},
		{name: "in force all the second", kid: "a", iat: 15, at: 16 - 1e-9},
		{name: "rotated out later in the second", kid: "a", iat: 20, at: 20},
		{name: "rotated in earlier in the second", kid: "b", iat: 20, at: 21 - 1e-9},
		{name: "rotated out before the second", kid: "a", iat: 21, code: "key"},
		{name: "rotated in after the second", kid: "b", iat: 19, code: "key"},
		{name: "before the DID", kid: "a", iat: 9, code: "did_not_found"},
		{name: "deactivated later in the second", kid: "b", iat: 30, code: errs.CodeOf(did.ErrDeactivated)},
		{name: "the registry fails on the second look", kid: "a", iat: 20, code: "registry_unavailable", failStart: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			r := func(ctx context.Context, x string, at time.Time) (*did.Resolution, error) {
				calls++
				down = c.failStart && calls > 1
				return resolve(ctx, x, at)
			}
			key, at, err := KeyInSecond(context.Background(), r, d, d+"#"+c.kid, sec(c.iat))
			switch c.code {
			case "":
				require.NoError(t, err)
				assert.NotNil(t, key.Key)
				assert.Equal(t, sec(c.at).UnixNano()/1e3, at.UnixNano()/1e3, "the deciding instant")
			case "key":
				assert.True(t, IsKeyError(err), "%v", err)
			default:
				assert.False(t, IsKeyError(err))
				assert.Equal(t, c.code, errs.CodeOf(err))
			}
		})
	}
}
