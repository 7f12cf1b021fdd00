// Package groupcommit runs the database work of concurrent requests in
// shared transactions (group commit): a request queues its job and waits;
// up to Workers goroutines take what has queued, at most Size jobs at a
// time, and run them as one group. Under load one commit then serves many
// requests; alone, a request runs at once in a group of one. No goroutine
// outlives the queue: a worker starts when a job finds fewer than Workers
// running, and ends when the queue is empty.
//
// The issuer groups its credential requests' records this way, the
// verifier its verdicts.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
)

// ErrShuttingDown: the group's service was closed before the job ran, or
// while it ran; the client may retry (on another instance, or later).
var ErrShuttingDown = errs.E(errs.Unavailable, "shutting_down", "the service is shutting down, try again")

// DefaultTimeout bounds one group's work when Group.Timeout is zero; the
// requests in it wait at most that long.
const DefaultTimeout = 30 * time.Second

// Group groups jobs of type J, whose results are of type R. Jobs are a
// group's inputs, and stay unchanged.
type Group[J, R any] struct {
	// Size is the most jobs of one group; 1 or less turns grouping off
	// (every job runs alone, at once, in its caller's goroutine).
	Size int
	// Workers is how many groups run at once.
	Workers int
	// Ctx is the service's lifetime. Each group runs under it, bounded by
	// Timeout: a group in flight at shutdown has its context cancelled,
	// and a group that would start after it is not run, its jobs failing
	// with ErrShuttingDown.
	Ctx     context.Context
	Timeout time.Duration
	// Run does one group's work and returns each job's outcome, in order.
	// It must not keep jobs.
	Run func(ctx context.Context, jobs []J) []Outcome[R]

	mu     sync.Mutex
	queue  []pending[J, R]
	active int
}

// Outcome is one job's result: Val when Err is nil.
type Outcome[R any] struct {
	Val R
	Err error
}

type pending[J, R any] struct {
	job  J
	done chan Outcome[R]
}

// Do queues job and returns its outcome. It waits for the outcome even
// when the caller's context ends: once queued, the job may be committed,
// and the caller must know.
func (g *Group[J, R]) Do(job J) (R, error) {
	p := pending[J, R]{job: job, done: make(chan Outcome[R], 1)}
	if g.Size <= 1 { // grouping is off: every request runs its own, at once
		g.runGroup([]pending[J, R]{p})
		o := <-p.done
		return o.Val, o.Err
	}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	start := g.active < max(g.Workers, 1)
	if start {
		g.active++
	}
	g.mu.Unlock()
	if start {
		go g.drain()
	}
	o := <-p.done
	return o.Val, o.Err
}

// Queued is how many jobs wait for a group (for tests).
func (g *Group[J, R]) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// Idle reports whether no job waits and no worker runs (for tests).
func (g *Group[J, R]) Idle() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.active == 0 && len(g.queue) == 0
}

func (g *Group[J, R]) drain() {
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.Size)
		if n == 0 {
			g.active--
			g.queue = nil // release the backing array
			g.mu.Unlock()
			return
		}
		group := make([]pending[J, R], n)
		copy(group, g.queue)
		clear(g.queue[:n]) // the queue's array must not keep subject data alive
		g.queue = g.queue[n:]
		g.mu.Unlock()
		g.runGroup(group)
	}
}

// runGroup runs one group and delivers every outcome, even if Run panics
// or miscounts (a bug): the waiting requests then get an internal error
// instead of waiting forever. After shutdown it delivers ErrShuttingDown
// without running the group; a group that shutdown interrupted gives
// ErrShuttingDown to each job that failed on the cancellation.
func (g *Group[J, R]) runGroup(group []pending[J, R]) {
	if err := g.Ctx.Err(); err != nil {
		for _, p := range group {
			p.done <- Outcome[R]{Err: ErrShuttingDown.With("", err)}
		}
		return
	}
	jobs := make([]J, len(group))
	for i, p := range group {
		jobs[i] = p.job
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(g.Ctx, timeout)
	res, bug := g.safeRun(ctx, jobs)
	cancel()
	if bug == nil && len(res) != len(group) {
		bug = fmt.Errorf("group commit: %d outcomes for %d jobs", len(res), len(group))
	}
	stopped := g.Ctx.Err() != nil
	for i, p := range group {
		switch {
		case bug != nil:
			p.done <- Outcome[R]{Err: errs.Wrap(errs.Internal, "", "", bug)}
		case stopped && errors.Is(res[i].Err, context.Canceled):
			p.done <- Outcome[R]{Err: ErrShuttingDown.With("", res[i].Err)}
		default:
			p.done <- res[i]
		}
	}
}

// safeRun runs the group; a panic becomes an error that carries its value
// and stack (for the log of the internal error).
func (g *Group[J, R]) safeRun(ctx context.Context, jobs []J) (res []Outcome[R], bug error) {
	defer func() {
		if r := recover(); r != nil {
			bug = fmt.Errorf("group commit panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return g.Run(ctx, jobs), nil
}
