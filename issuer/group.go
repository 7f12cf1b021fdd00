package issuer

import (
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
type groupCommit[J any] struct {
	size, workers int
	// run does one group's work and returns each job's outcome, in order.
	// It must not keep jobs.
	run func(jobs []J) []error

	mu     sync.Mutex
	queue  []pending[J]
	active int
}

type pending[J any] struct {
	job  J
	done chan error
}

// do queues job and returns its outcome. It waits for the outcome even
// when the caller's context ends: once queued, the job may be committed,
// and the caller must know.
func (g *groupCommit[J]) do(job J) error {
	p := pending[J]{job: job, done: make(chan error, 1)}
	if g.size <= 1 { // grouping is off: every request runs its own, at once
		g.runGroup([]pending[J]{p})
		return <-p.done
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
	return <-p.done
}

func (g *groupCommit[J]) drain() {
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.size)
		if n == 0 {
			g.active--
			g.queue = nil // release the backing array
			g.mu.Unlock()
			return
		}
		group := make([]pending[J], n)
		copy(group, g.queue)
		clear(g.queue[:n]) // the queue's array must not keep subject data alive
		g.queue = g.queue[n:]
		g.mu.Unlock()
		g.runGroup(group)
	}
}

// runGroup runs one group and delivers every outcome, even if run panics
// or miscounts (a bug): the waiting requests then get an internal error
// instead of waiting forever.
func (g *groupCommit[J]) runGroup(group []pending[J]) {
	jobs := make([]J, len(group))
	for i, p := range group {
		jobs[i] = p.job
	}
	res, bug := g.safeRun(jobs)
	if bug == nil && len(res) != len(group) {
		bug = fmt.Errorf("group commit: %d outcomes for %d jobs", len(res), len(group))
	}
	for i, p := range group {
		if bug != nil {
			p.done <- errs.Wrap(errs.Internal, "", "", bug)
			continue
		}
		p.done <- res[i]
	}
}

// safeRun runs the group; a panic becomes an error that carries its value
// and stack (for the log of the internal error).
func (g *groupCommit[J]) safeRun(jobs []J) (res []error, bug error) {
	defer func() {
		if r := recover(); r != nil {
			bug = fmt.Errorf("group commit panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return g.run(jobs), nil
}
