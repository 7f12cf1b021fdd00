package anchor

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Health is the ledger as /readyz and /metrics report it.
type Health struct {
	Reachable     bool      `json:"reachable"`
	LastHeight    int64     `json:"last_height"`
	LastBlockTime time.Time `json:"last_block_time"`
	// Halted: no new block within HaltAfter (or the node is unreachable).
	// Anchors keep queueing in the outbox meanwhile.
	Halted      bool  `json:"halted"`
	OutboxDepth int64 `json:"outbox_depth"`
}

// HealthChecker computes Health. Now is the clock (nil: time.Now).
type HealthChecker struct {
	Ledger    *Ledger
	Outbox    Outbox        // optional: the anchoring outbox
	HaltAfter time.Duration // default 10 s
	Now       func() time.Time

	height, depth, halted, age prometheus.Gauge
}

// Check reads the node's status and the outbox depth. It always returns a
// Health; the error says what could not be read.
func (h *HealthChecker) Check(ctx context.Context) (Health, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	halt := h.HaltAfter
	if halt <= 0 {
		halt = 10 * time.Second
	}
	var hl Health
	var firstErr error
	height, bt, err := h.Ledger.Status(ctx)
	if err != nil {
		firstErr = err
		hl.Halted = true
	} else {
		hl.Reachable, hl.LastHeight, hl.LastBlockTime = true, height, bt
		hl.Halted = now().Sub(bt) > halt
	}
	if h.Outbox != nil {
		d, err := h.Outbox.OutboxDepth(ctx, Topic)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		hl.OutboxDepth = d
	}
	if h.height != nil {
		h.height.Set(float64(hl.LastHeight))
		h.depth.Set(float64(hl.OutboxDepth))
		h.halted.Set(boolGauge(hl.Halted))
		if !hl.LastBlockTime.IsZero() {
			h.age.Set(now().Sub(hl.LastBlockTime).Seconds())
		}
	}
	return hl, firstErr
}

// Collectors returns gauges that every Check updates: ssi_ledger_height,
// ssi_ledger_halted, ssi_ledger_last_block_age_seconds and
// ssi_anchor_outbox_depth. Call it once, before the first Check.
func (h *HealthChecker) Collectors() []prometheus.Collector {
	h.height = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssi_ledger_height", Help: "Latest block height seen on the ledger."})
	h.halted = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssi_ledger_halted", Help: "1 when the ledger made no block within the halt threshold."})
	h.age = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssi_ledger_last_block_age_seconds", Help: "Seconds since the latest block's time."})
	h.depth = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssi_anchor_outbox_depth", Help: "Anchor entries waiting in the outbox."})
	return []prometheus.Collector{h.height, h.halted, h.age, h.depth}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
