package holder

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
)

// ErrInvalidFilter: a history filter is malformed.
var ErrInvalidFilter = errs.E(errs.Invalid, "invalid_history_filter", "a history filter is malformed (from and to are RFC 3339 times, channel online or offline)")

// HistoryEntry is one disclosure, or refusal, as the citizen sees it:
// when, to whom, which claims (names only), from which credential, and
// the outcome (shared, failed, declined, refused_over_asking,
// refused_not_registered, offline_qr).
type HistoryEntry struct {
	ID           string    `json:"id"`
	At           time.Time `json:"at"`
	Channel      string    `json:"channel"`
	Verifier     string    `json:"verifier"`
	VerifierName string    `json:"verifier_name,omitempty"`
	CredentialID string    `json:"credential_id,omitempty"`
	Claims       []string  `json:"claims"`
	Outcome      string    `json:"outcome"`
}

// HistoryFilter narrows History; zero fields match all.
type HistoryFilter struct {
	Verifier, CredentialID, Channel string
	From, To                        string // RFC 3339
}

// History lists a's history, newest first, at most 1000 entries.
// Errors: ErrInvalidFilter.
func (s *Service) History(ctx context.Context, a *Account, f HistoryFilter) ([]HistoryEntry, error) {
	sf := store.HolderHistoryFilter{Verifier: f.Verifier, CredentialID: f.CredentialID, Channel: f.Channel}
	if f.Channel != "" && f.Channel != "online" && f.Channel != "offline" {
		return nil, ErrInvalidFilter
	}
	for _, p := range []struct {
		in  string
		out *time.Time
	}{{f.From, &sf.From}, {f.To, &sf.To}} {
		if p.in == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.in)
		if err != nil {
			return nil, ErrInvalidFilter
		}
		*p.out = t
	}
	hs, err := s.cfg.Store.ListHolderHistory(ctx, a.ID, sf)
	if err != nil {
		return nil, fmt.Errorf("listing history: %w", err)
	}
	out := make([]HistoryEntry, len(hs))
	for i, h := range hs {
		out[i] = HistoryEntry{ID: h.ID, At: h.At, Channel: h.Channel, Verifier: h.Verifier, VerifierName: h.VerifierName,
			CredentialID: h.CredentialID, Claims: h.Claims, Outcome: h.Outcome}
		if out[i].Claims == nil {
			out[i].Claims = []string{}
		}
	}
	return out, nil
}

// WriteHistoryCSV writes entries as CSV (RFC 4180) with a header row; the
// claim names of an entry are joined with spaces.
func WriteHistoryCSV(w io.Writer, entries []HistoryEntry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "at", "channel", "verifier", "verifier_name", "credential_id", "claims", "outcome"}); err != nil {
		return err
	}
	for _, e := range entries {
		if err := cw.Write([]string{e.ID, e.At.UTC().Format(time.RFC3339), e.Channel, csvSafe(e.Verifier), csvSafe(e.VerifierName),
			e.CredentialID, csvSafe(strings.Join(e.Claims, " ")), e.Outcome}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a field as a formula (a
// verifier's registered name is not ours to trust).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
