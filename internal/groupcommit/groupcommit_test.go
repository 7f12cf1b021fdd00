package groupcommit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ssi-project/ssi/internal/errs"
)

// TestGroupCommitBounds: every job gets its own outcome; no group is
// larger than size, and no more than workers groups run at once.
func TestGroupCommitBounds(t *testing.T) {
	var running, maxRunning, groups atomic.Int64
	g := &Group[int, int]{Size: 5, Workers: 2, Ctx: context.Background(), Run: func(_ context.Context, jobs []int) []Outcome[int] {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		groups.Add(1)
		time.Sleep(time.Millisecond) // let a queue form
		running.Add(-1)
		if len(jobs) > 5 {
			panic("group too large")
		}
		res := make([]Outcome[int], len(jobs))
		for i, j := range jobs {
			if j%3 == 0 {
				res[i].Err = fmt.Errorf("job %d", j)
			} else {
				res[i].Val = -j
			}
		}
		return res
	}}
	var wg sync.WaitGroup
	errsByJob := make([]error, 200)
	valsByJob := make([]int, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			valsByJob[i], errsByJob[i] = g.Do(i)
		}()
	}
	wg.Wait()
	for i, err := range errsByJob {
		if i%3 == 0 {
			assert.EqualError(t, err, fmt.Sprintf("job %d", i))
		} else {
			assert.NoError(t, err, i)
			assert.Equal(t, -i, valsByJob[i], "each job gets its own result")
		}
	}
	assert.LessOrEqual(t, maxRunning.Load(), int64(2), "at most workers groups at once")
	assert.Less(t, groups.Load(), int64(200), "jobs shared groups")
	// A worker leaves after delivering its last outcome: wait for it.
	assert.Eventually(t, func() bool {
		return g.Idle()
	}, 5*time.Second, time.Millisecond, "no worker outlives the queue")
}

// TestGroupCommitOff: with size 1 every job runs at once in its caller,
// concurrently with the others.
func TestGroupCommitOff(t *testing.T) {
	var running, most atomic.Int64
	release := make(chan struct{})
	g := &Group[int, struct{}]{Size: 1, Workers: 1, Ctx: context.Background(), Run: func(_ context.Context, jobs []int) []Outcome[struct{}] {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
		return make([]Outcome[struct{}], len(jobs))
	}}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := g.Do(i); assert.NoError(t, err) }()
	}
	assert.Eventually(t, func() bool { return running.Load() == 3 }, 5*time.Second, time.Millisecond,
		"three jobs run at once although workers is 1")
	close(release)
	wg.Wait()
	assert.Equal(t, int64(3), most.Load())
}

// TestGroupCommitBug: a panicking or miscounting run gives every job of
// its group an internal error instead of a hang, and the next group runs.
func TestGroupCommitBug(t *testing.T) {
	mode := "panic"
	g := &Group[int, struct{}]{Size: 4, Workers: 1, Ctx: context.Background(), Run: func(_ context.Context, jobs []int) []Outcome[struct{}] {
		switch mode {
		case "panic":
			panic("boom")
		case "short":
			return nil
		}
		return make([]Outcome[struct{}], len(jobs))
	}}
	_, err := g.Do(1)
	assert.Equal(t, errs.Internal, errs.KindOf(err))
	mode = "short"
	_, err = g.Do(2)
	assert.Equal(t, errs.Internal, errs.KindOf(err))
	mode = "ok"
	_, err = g.Do(3)
	assert.NoError(t, err)
}

// TestGroupCommitAfterShutdown: once the groups' context has ended, a job
// is not run (with or without grouping) and fails with ErrShuttingDown,
// a cancellation.
func TestGroupCommitAfterShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, size := range []int{1, 4} {
		var ran atomic.Bool
		g := &Group[int, int]{Size: size, Workers: 1, Ctx: ctx, Run: func(_ context.Context, jobs []int) []Outcome[int] {
			ran.Store(true)
			return make([]Outcome[int], len(jobs))
		}}
		_, err := g.Do(1)
		assert.ErrorIs(t, err, ErrShuttingDown, "size %d", size)
		assert.ErrorIs(t, err, context.Canceled, "size %d", size)
		assert.Equal(t, errs.Unavailable, errs.KindOf(err))
		assert.False(t, ran.Load(), "size %d: no group runs after shutdown", size)
	}
}
