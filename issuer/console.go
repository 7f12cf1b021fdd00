package issuer

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/trust"
)

// What the agency admin console reads beside the offer and status
// endpoints: the tenant's credential configurations with their JSON
// Schema (the console builds its offer form from it), and the anchoring
// state of its status lists.

// LedgerHealth reports the ledger's state; *anchor.HealthChecker has it.
type LedgerHealth interface {
	Check(ctx context.Context) (anchor.Health, error)
}

var _ LedgerHealth = (*anchor.HealthChecker)(nil)

// ConfigurationView is a credential configuration as the admin API shows
// it: the schema is the one every offer's subject data is validated
// against.
type ConfigurationView struct {
	ID         string          `json:"id"`
	VCT        string          `json:"vct,omitempty"`
	Format     string          `json:"format"`
	Display    []Display       `json:"display"`
	Schema     json.RawMessage `json:"schema"`
	StatusBits int             `json:"status_bits"`
	Validity   string          `json:"validity"`
}

// Configurations returns tenant's credential configurations, in their
// configured order; a tenant that does not issue has none.
func (s *Service) Configurations(tenantID string) []ConfigurationView {
	t, ok := s.tenants[tenantID]
	if !ok {
		return []ConfigurationView{}
	}
	out := make([]ConfigurationView, 0, len(t.Configs))
	for _, c := range t.Configs {
		v := ConfigurationView{ID: c.ID, VCT: c.VCT, Format: "dc+sd-jwt", Display: c.Display, Schema: c.Schema,
			StatusBits: c.StatusBits, Validity: c.Validity.String()}
		if v.Display == nil {
			v.Display = []Display{}
		}
		if c.Profile == sdjwt.ProfileVCDM {
			v.Format = "vc+sd-jwt"
		}
		out = append(out, v)
	}
	return out
}

// ListAnchoring is the anchoring state of one status list.
type ListAnchoring struct {
	URI     string `json:"uri"`
	Version uint64 `json:"version"` // the latest published; 0: none yet
	// Anchored: the ledger holds a receipt for Version. False while the
	// entry waits in the outbox (or the ledger is unreachable).
	Anchored bool  `json:"anchored"`
	Height   int64 `json:"anchored_height,omitempty"`
	// PendingChanges: a status changed since Version was published.
	PendingChanges bool `json:"pending_changes"`
}

// Anchoring is the anchoring state an agency sees.
type Anchoring struct {
	Ledger      anchor.Health   `json:"ledger"`
	StatusLists []ListAnchoring `json:"status_lists"`
	CheckedAt   time.Time       `json:"checked_at"`
}

// maxAnchoringLists bounds the lists one Anchoring call asks the ledger
// about.
const maxAnchoringLists = 100

// Anchoring reads the ledger's health (height, halted, outbox depth;
// unreachable when no ledger is configured or it does not answer) and,
// for each of tenant's newest lists (at most 100), its latest version and
// whether the ledger has anchored it. A ledger that cannot be asked makes
// the lists read as not anchored, never an error: the page is for seeing
// exactly that. The store failing is Unavailable.
func (s *Service) Anchoring(ctx context.Context, tenantID string) (Anchoring, error) {
	out := Anchoring{CheckedAt: s.now(), StatusLists: []ListAnchoring{}}
	if s.cfg.Ledger != nil {
		h, err := s.cfg.Ledger.Check(ctx)
		if err != nil {
			s.log.Warn("reading the ledger's health", "error", err.Error())
		}
		out.Ledger = h
	}
	lists, err := s.cfg.Store.ListStatusLists(ctx, tenantID, maxAnchoringLists)
	if err != nil {
		return Anchoring{}, errs.Wrap(errs.Unavailable, "store_unavailable", "the store is unavailable, try again later", err)
	}
	for _, l := range lists {
		a := ListAnchoring{URI: l.URI, Version: l.Version, PendingChanges: l.ChangeSeq > l.PublishedSeq}
		if l.Version > 0 && s.cfg.Anchor != nil && out.Ledger.Reachable {
			r, err := s.cfg.Anchor.Get(ctx, trust.KindStatusList, l.URI, l.Version)
			switch {
			case err == nil:
				a.Anchored, a.Height = true, r.Height
			case errs.KindOf(err) != errs.NotFound:
				s.log.Warn("reading a status list's receipt", "list", l.ID, "error", err.Error())
			}
		}
		out.StatusLists = append(out.StatusLists, a)
	}
	return out, nil
}
