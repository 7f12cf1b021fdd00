package issuer

import (
	"context"
	"fmt"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
)

// The default rate limits (Config.RatePerClient, RatePerCode, RateWindow).
//
// What stops a tx_code brute force is the code's own budget: the
// per-offer cap of store.MaxTxCodeAttempts (5) token requests in the
// code's lifetime, and DefaultRatePerCode requests per window. The
// per-client budget only keeps one address from flooding the
// unauthenticated token and nonce endpoints (every nonce is a stored
// row), and one address may be a carrier-grade NAT with thousands of
// phones behind it at a mass roll-out, or a proxy whose X-Forwarded-For
// is not trusted: hence a default of 20 requests a second, which an
// operator raises or turns off (RateOff) for such a population.
const (
	DefaultRatePerClient = 1200
	DefaultRatePerCode   = 10
	DefaultRateWindow    = time.Minute
)

// RateOff as Config.RatePerClient turns the per-client limit off.
const RateOff = -1

// rateLimited carries the Retry-After of a refused request to the
// renderer (httpx.RetryAfter).
type rateLimited struct{ secs int }

func (r rateLimited) Error() string          { return "rate limited" }
func (r rateLimited) RetryAfterSeconds() int { return r.secs }

// ErrRateLimited: too many requests; the response's Retry-After says when
// to retry.
var ErrRateLimited = errs.E(errs.RateLimited, "rate_limited", "too many requests, retry later")

// allow counts one request of key against a budget of limit requests per
// Config.RateWindow, in the store, so that every instance of the issuer on
// one database shares the budget and a restart does not renew it. A
// negative limit allows everything without counting. Over the budget it
// returns ErrRateLimited with the seconds until the key's window ends; a
// store failure is returned as it is (the request fails closed, as it
// would have a moment later on its own store work).
func (s *Service) allow(ctx context.Context, key string, limit int) error {
	if limit < 0 {
		return nil
	}
	now := s.now()
	rl, err := s.cfg.Store.HitRateLimit(ctx, key, int64(limit), s.cfg.RateWindow, now)
	if err != nil {
		return fmt.Errorf("counting a rate-limited request: %w", err)
	}
	if !rl.Allowed {
		return ErrRateLimited.With("", rateLimited{secs: rl.RetryAfter(now)})
	}
	return nil
}

// rateDefaults fills in and checks the rate limits of cfg.
func rateDefaults(cfg *Config) error {
	switch {
	case cfg.RatePerClient == 0:
		cfg.RatePerClient = DefaultRatePerClient
	case cfg.RatePerClient < 0:
		cfg.RatePerClient = RateOff
	}
	switch {
	case cfg.RatePerCode == 0:
		cfg.RatePerCode = DefaultRatePerCode
	case cfg.RatePerCode < 0:
		return fmt.Errorf("issuer: the per-code rate limit cannot be turned off")
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = DefaultRateWindow
	}
	if cfg.RateWindow < time.Second || cfg.RateWindow > time.Hour {
		return fmt.Errorf("issuer: the rate-limit window must be 1 s to 1 h")
	}
	return nil
}
