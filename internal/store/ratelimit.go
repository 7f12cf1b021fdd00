package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
)

// RateLimit is the outcome of one hit counted by HitRateLimit.
type RateLimit struct {
	// Allowed reports that the hit is within the budget: Hits ≤ limit.
	Allowed bool
	// Hits counts the key's hits in the current window, this one and the
	// refused ones included.
	Hits int64
	// WindowEnd is when the current window ends: the first hit at or
	// after it starts a new window with a whole budget.
	WindowEnd time.Time
}

// RetryAfter is the number of seconds from now until the window ends,
// rounded up, and at least 1: the value of a Retry-After header.
func (r RateLimit) RetryAfter(now time.Time) int {
	d := r.WindowEnd.Sub(now)
	secs := int((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// rateLimitHit counts one hit in a single statement, so that concurrent
// hits of one key, from any number of processes, are each counted exactly
// once: PostgreSQL's upsert locks the row and re-reads it after a
// concurrent writer commits, and SQLite has one writer. A window that has
// ended ($3 is now) is restarted by the same statement; a window still
// running keeps its end. Both dialects read the old row's values on the
// right of SET, so the two CASEs see the same window_end.
const rateLimitHit = `INSERT INTO rate_limits (key_hash, hits, window_end) VALUES ($1, 1, $2)
ON CONFLICT (key_hash) DO UPDATE SET
	hits = CASE WHEN rate_limits.window_end <= $3 THEN 1 ELSE rate_limits.hits + 1 END,
	window_end = CASE WHEN rate_limits.window_end <= $3 THEN excluded.window_end ELSE rate_limits.window_end END
RETURNING hits, window_end`

// HitRateLimit counts one hit of key at now against a budget of limit hits
// per window, and reports whether the hit is allowed. A key's window starts
// at its first hit after the previous window ended and lasts window; every
// hit counts, a refused one too, so a client that keeps trying while
// refused is still refused until the window ends (and then gets a whole
// budget, not the remainder of a burst).
//
// The count is atomic across every process that shares the database: of n
// concurrent hits on a fresh key exactly min(n, limit) are allowed.
//
// Only the SHA-256 of key is stored, so a key may name a secret's hash or
// a client address; its row is deleted by PurgeRateLimits once the window
// has ended. Errors: ErrInvalid (an empty key, a limit below 0, a window
// shorter than a microsecond, a zero now), ErrUnavailable and other store
// errors; the hit is then not counted.
func (s *Store) HitRateLimit(ctx context.Context, key string, limit int64, window time.Duration, now time.Time) (RateLimit, error) {
	switch {
	case key == "":
		return RateLimit{}, ErrInvalid.With("the rate-limit key is required", nil)
	case limit < 0:
		return RateLimit{}, ErrInvalid.With("the rate limit must not be negative", nil)
	case window < time.Microsecond:
		return RateLimit{}, ErrInvalid.With("the rate-limit window must be at least a microsecond", nil)
	case now.IsZero():
		return RateLimit{}, ErrInvalid.With("the time of the hit is required", nil)
	}
	h := sha256.Sum256([]byte(key))
	at := toMicros(now)
	var hits, end int64
	if err := s.w().queryRow(ctx, rateLimitHit, h[:], at+window.Microseconds(), at).Scan(&hits, &end); err != nil {
		return RateLimit{}, fmt.Errorf("counting a rate-limit hit: %w", err)
	}
	return RateLimit{Allowed: hits <= limit, Hits: hits, WindowEnd: fromMicros(end)}, nil
}

// purgeBatch bounds the rows one purge statement deletes, so that a purge
// after a flood of distinct keys (many IPv6 prefixes, many guessed codes)
// never holds SQLite's single writer, or PostgreSQL's row locks, for long.
const purgeBatch = 5000

// PurgeRateLimits deletes the windows that ended at or before `before`,
// in batches of at most purgeBatch rows, and returns how many it deleted.
// A key hit again after its purge starts a new window, as it would have
// without the purge: purging changes no decision.
func (s *Store) PurgeRateLimits(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.w().exec(ctx, `DELETE FROM rate_limits WHERE key_hash IN
			(SELECT key_hash FROM rate_limits WHERE window_end <= $1 LIMIT $2)`, toMicros(before), purgeBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("purging rate-limit windows: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}
