package storetest

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

func rateLimitCases() []testCase {
	return []testCase{
		{"RateLimitCounts", testRateLimitCounts},
		{"RateLimitWindowRollover", testRateLimitRollover},
		{"RateLimitRetryAfter", testRateLimitRetryAfter},
		{"RateLimitConcurrent", testRateLimitConcurrent},
		{"RateLimitPurge", testRateLimitPurge},
		{"RateLimitStoresOnlyAHash", testRateLimitStoresOnlyAHash},
		{"RateLimitInvalid", testRateLimitInvalid},
	}
}

// hit counts one hit and fails the test on an error.
func hit(t *testing.T, s *store.Store, key string, limit int64, window time.Duration, now time.Time) store.RateLimit {
	t.Helper()
	rl, err := s.HitRateLimit(context.Background(), key, limit, window, now)
	require.NoError(t, err)
	return rl
}

// testRateLimitCounts: the first limit hits of a window are allowed, every
// later one is refused and still counted, and keys count apart.
func testRateLimitCounts(t *testing.T, s *store.Store) {
	for i := int64(1); i <= 5; i++ {
		rl := hit(t, s, "client:192.0.2.1", 3, time.Minute, t0.Add(time.Duration(i)*time.Second))
		assert.Equal(t, i <= 3, rl.Allowed, "hit %d", i)
		assert.Equal(t, i, rl.Hits)
		assert.Equal(t, t0.Add(time.Second+time.Minute), rl.WindowEnd, "the window starts at the first hit")
	}
	other := hit(t, s, "client:192.0.2.2", 3, time.Minute, t0.Add(5*time.Second))
	assert.True(t, other.Allowed, "another key has its own budget")
	assert.Equal(t, int64(1), other.Hits)
	zero := hit(t, s, "nothing-allowed", 0, time.Minute, t0)
	assert.False(t, zero.Allowed, "a limit of 0 allows nothing")
}

// testRateLimitRollover: the window ends exactly window after its first
// hit; the first hit at or after the end starts a new window with a whole
// budget, and a hit read with a clock behind the window's start (another
// instance's) counts in the running window.
func testRateLimitRollover(t *testing.T, s *store.Store) {
	const key = "nonce:192.0.2.7"
	for range 3 {
		hit(t, s, key, 2, time.Minute, t0)
	}
	last := hit(t, s, key, 2, time.Minute, t0.Add(time.Minute-time.Microsecond))
	assert.False(t, last.Allowed, "one microsecond before the end the window still runs")
	assert.Equal(t, int64(4), last.Hits)
	behind := hit(t, s, key, 2, time.Minute, t0.Add(-time.Hour))
	assert.False(t, behind.Allowed, "a clock behind the window does not restart it")
	assert.Equal(t, t0.Add(time.Minute), behind.WindowEnd)

	fresh := hit(t, s, key, 2, time.Minute, t0.Add(time.Minute))
	assert.True(t, fresh.Allowed, "the window ended: a whole budget")
	assert.Equal(t, int64(1), fresh.Hits)
	assert.Equal(t, t0.Add(2*time.Minute), fresh.WindowEnd)
	assert.True(t, hit(t, s, key, 2, time.Minute, t0.Add(90*time.Second)).Allowed)
	assert.False(t, hit(t, s, key, 2, time.Minute, t0.Add(100*time.Second)).Allowed)

	// Long after: a new window, whatever was counted before.
	late := hit(t, s, key, 2, time.Minute, t0.Add(24*time.Hour))
	assert.Equal(t, store.RateLimit{Allowed: true, Hits: 1, WindowEnd: t0.Add(24*time.Hour + time.Minute)}, late)
}

// testRateLimitRetryAfter: the seconds until the window ends, rounded up,
// never below one.
func testRateLimitRetryAfter(t *testing.T, s *store.Store) {
	const key = "code:health:abc"
	hit(t, s, key, 1, time.Minute, t0)
	for _, c := range []struct {
		at   time.Duration
		want int
	}{
		{10 * time.Second, 50},
		{10*time.Second + time.Millisecond, 50},
		{10*time.Second - time.Millisecond, 51},
		{59*time.Second + 999*time.Millisecond, 1},
		{time.Minute - time.Microsecond, 1},
	} {
		rl := hit(t, s, key, 1, time.Minute, t0.Add(c.at))
		require.False(t, rl.Allowed)
		assert.Equal(t, c.want, rl.RetryAfter(t0.Add(c.at)), "at +%v", c.at)
	}
	assert.Equal(t, 1, store.RateLimit{WindowEnd: t0}.RetryAfter(t0.Add(time.Second)), "a window already ended: at least a second")
}

// testRateLimitConcurrent: many goroutines hitting one fresh key, through
// the pool, are each counted exactly once: the counts returned are 1 … n
// without a repeat, and exactly limit hits are allowed.
func testRateLimitConcurrent(t *testing.T, s *store.Store) {
	ctx := context.Background()
	const limit = 20
	var mu sync.Mutex
	var counts []int64
	allowed := 0
	errs := race(t, workers, func(int) error {
		rl, err := s.HitRateLimit(ctx, "client:198.51.100.1", limit, time.Minute, t0)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		counts = append(counts, rl.Hits)
		if rl.Allowed {
			allowed++
		}
		return nil
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	slices.Sort(counts)
	want := make([]int64, workers)
	for i := range want {
		want[i] = int64(i + 1)
	}
	assert.Equal(t, want, counts, "every hit counted exactly once")
	assert.Equal(t, limit, allowed, "exactly the budget allowed, however concurrent")
	rl := hit(t, s, "client:198.51.100.1", limit, time.Minute, t0)
	assert.Equal(t, int64(workers+1), rl.Hits)
}

// testRateLimitPurge: the purge deletes the windows that ended and only
// them; a purged key starts over, as it would have without the purge.
func testRateLimitPurge(t *testing.T, s *store.Store) {
	ctx := context.Background()
	hit(t, s, "a", 1, time.Minute, t0)
	hit(t, s, "a", 1, time.Minute, t0)
	hit(t, s, "b", 1, 2*time.Minute, t0)
	n, err := s.PurgeRateLimits(ctx, t0.Add(time.Minute-time.Microsecond))
	require.NoError(t, err)
	assert.Zero(t, n, "no window has ended yet")
	n, err = s.PurgeRateLimits(ctx, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	assert.Equal(t, 1, rateLimitRows(t, s))
	assert.Equal(t, int64(2), hit(t, s, "b", 1, 2*time.Minute, t0.Add(time.Minute)).Hits, "b's window is kept")
	a := hit(t, s, "a", 1, time.Minute, t0.Add(time.Minute))
	assert.True(t, a.Allowed)
	assert.Equal(t, int64(1), a.Hits)
	n, err = s.PurgeRateLimits(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	assert.Zero(t, rateLimitRows(t, s), "the table does not grow forever")
}

func rateLimitRows(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int64
	require.NoError(t, store.Raw(s).QueryRow(context.Background(), "SELECT COUNT(*) FROM rate_limits", nil, &n))
	return int(n)
}

// testRateLimitStoresOnlyAHash: the key itself (a client address, a
// code's hash) is never stored, only its SHA-256.
func testRateLimitStoresOnlyAHash(t *testing.T, s *store.Store) {
	const key = "client:2001:db8:1:2::/64"
	hit(t, s, key, 1, time.Minute, t0)
	var raw []byte
	require.NoError(t, store.Raw(s).QueryRow(context.Background(), "SELECT key_hash FROM rate_limits", nil, &raw))
	sum := sha256.Sum256([]byte(key))
	assert.Equal(t, sum[:], raw)
	assert.NotContains(t, string(raw), "2001:db8")
}

func testRateLimitInvalid(t *testing.T, s *store.Store) {
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"empty key":      func() error { _, err := s.HitRateLimit(ctx, "", 1, time.Minute, t0); return err },
		"negative limit": func() error { _, err := s.HitRateLimit(ctx, "k", -1, time.Minute, t0); return err },
		"no window":      func() error { _, err := s.HitRateLimit(ctx, "k", 1, 0, t0); return err },
		"zero time":      func() error { _, err := s.HitRateLimit(ctx, "k", 1, time.Minute, time.Time{}); return err },
	} {
		assertCode(t, store.ErrInvalid, call(), name)
	}
	assert.Zero(t, rateLimitRows(t, s), "nothing counted")
}
