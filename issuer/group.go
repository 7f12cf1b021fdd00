package issuer

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/ssi-project/ssi/internal/errs"
)

// groupCommit runs the database work of concurrent requests in shared
// transactions (group commit): a request queues its job and waits; up to
// workers goroutines take what has queued, at most size jobs at a time,
// and run them as one group. Under load one commit then serves many
// requests; alone, a request runs at once in a group of one. No goroutine
// outlives the queue: a worker starts when a job finds fewer than workers
// running, and ends when the queue is empty.
//
// Jobs are a group's inputs, and stay unchanged: run returns each job's
// result (of type R) or error.
type groupCommit[J, R any] struct {
	size, workers int
	// ctx is the service's lifetime (Service.Close cancels it). Each
	// group runs under it, bounded by groupTimeout: a group in flight at
	// shutdown has its context cancelled, and a group that would start
	// after it is not run, its jobs failing with ErrShuttingDown.
	ctx context.Context
	// run does one group's work and returns each job's outcome, in order.
	// It must not keep jobs.
	run func(ctx context.Context, jobs []J) []outcome[R]

	mu     sync.Mutex
	queue  []pending[J, R]
	active int
}

// outcome is one job's result: val when err is nil.
type outcome[R any] struct {
	val R
	err error
}

type pending[J, R any] struct {
	job  J
	done chan outcome[R]
}

// do queues job and returns its outcome. It waits for the outcome even
// when the caller's context ends: once queued, the job may be committed,
// and the caller must know.
func (g *groupCommit[J, R]) do(job J) (R, error) {
	p := pending[J, R]{job: job, done: make(chan outcome[R], 1)}
	if g.size <= 1 { // grouping is off: every request runs its own, at once
		g.runGroup([]pending[J, R]{p})
		o := <-p.done
		return o.val, o.err
	}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	start := g.active < g.workers
	if start {
		g.active++
	}
	g.mu.Unlock()
	if start {
		go g.drain()
	}
	o := <-p.done
	return o.val, o.err
}

func (g *groupCommit[J, R]) drain() {
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.size)
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

// runGroup runs one group and delivers every outcome, even if run panics
// or miscounts (a bug): the waiting requests then get an internal error
// instead of waiting forever. After shutdown it delivers ErrShuttingDown
// without running the group; a group that shutdown interrupted gives
// ErrShuttingDown to each job that failed on the cancellation.
func (g *groupCommit[J, R]) runGroup(group []pending[J, R]) {
	if err := g.ctx.Err(); err != nil {
		for _, p := range group {
			p.done <- outcome[R]{err: ErrShuttingDown.With("", err)}
		}
		return
	}
	jobs := make([]J, len(group))
	for i, p := range group {
		jobs[i] = p.job
	}
	ctx, cancel := context.WithTimeout(g.ctx, groupTimeout)
	res, bug := g.safeRun(ctx, jobs)
	cancel()
	if bug == nil && len(res) != len(group) {
		bug = fmt.Errorf("group commit: %d outcomes for %d jobs", len(res), len(group))
	}
	stopped := g.ctx.Err() != nil
	for i, p := range group {
		switch {
		case bug != nil:
			p.done <- outcome[R]{err: errs.Wrap(errs.Internal, "", "", bug)}
		case stopped && errors.Is(res[i].err, context.Canceled):
			p.done <- outcome[R]{err: ErrShuttingDown.With("", res[i].err)}
		default:
			p.done <- res[i]
		}
	}
}

// safeRun runs the group; a panic becomes an error that carries its value
// and stack (for the log of the internal error).
func (g *groupCommit[J, R]) safeRun(ctx context.Context, jobs []J) (res []outcome[R], bug error) {
	defer func() {
		if r := recover(); r != nil {
			bug = fmt.Errorf("group commit panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return g.run(ctx, jobs), nil
}
