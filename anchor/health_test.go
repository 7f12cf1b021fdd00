package anchor

import (
	"context"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gaugeValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	require.NoError(t, (<-ch).Write(&m))
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

func TestHealth(t *testing.T) {
	ctx := context.Background()
	op := newEdSigner(t)
	l, _ := startLedger(t, op)
	st := openStore(t)
	a, err := New(Config{Ledger: l, Signer: op, Outbox: st})
	require.NoError(t, err)
	require.NoError(t, a.Enqueue(ctx, st, didEntry(1, 1), didEntry(2, 1)))

	now := time.Now()
	hc := &HealthChecker{Ledger: l, Outbox: st, HaltAfter: 30 * time.Second, Now: func() time.Time { return now }}
	cs := hc.Collectors()
	h, err := hc.Check(ctx)
	require.NoError(t, err)
	assert.True(t, h.Reachable)
	assert.False(t, h.Halted)
	assert.Positive(t, h.LastHeight)
	assert.Equal(t, int64(2), h.OutboxDepth)
	assert.Equal(t, float64(h.LastHeight), gaugeValue(t, cs[0]))
	assert.Equal(t, 0.0, gaugeValue(t, cs[1]))
	assert.Equal(t, 2.0, gaugeValue(t, cs[3]))

	// No block for longer than HaltAfter: halted.
	now = now.Add(time.Hour)
	h, err = hc.Check(ctx)
	require.NoError(t, err)
	assert.True(t, h.Halted)
	assert.Equal(t, 1.0, gaugeValue(t, cs[1]))
	assert.Greater(t, gaugeValue(t, cs[2]), 3000.0)

	// The worker's counters.
	runWorker(t, a)
	eventually(t, 20*time.Second, depthIs(t, st, 0))
	eventually(t, 5*time.Second, func() error {
		if a.Stats().Anchored != 2 {
			return assert.AnError
		}
		return nil
	})
	ac := a.Collectors()
	assert.Equal(t, 2.0, gaugeValue(t, ac[0]))
	assert.Equal(t, 0.0, gaugeValue(t, ac[2]))

	// A node that does not answer (nothing listens on the port): unreachable
	// counts as halted.
	c, err := rpchttp.New("tcp://127.0.0.1:1", "/websocket")
	require.NoError(t, err)
	down := &HealthChecker{Ledger: NewLedger(c, "test-chain"), Outbox: st}
	h, err = down.Check(ctx)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.True(t, h.Halted)
	assert.False(t, h.Reachable)
}
