package holder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
)

// LowCopies is the number of unused copies at or below which a credential
// says it is running low (the app should ask the issuer for a new batch).
const LowCopies = 1

// technical are the SD-JWT VC claims that are not the citizen's data.
var technical = map[string]bool{"iss": true, "vct": true, "iat": true, "nbf": true, "exp": true, "cnf": true, "status": true, "_sd_alg": true}

// Credential is a credential as the app shows it.
type Credential struct {
	ID        string          `json:"id"`
	Issuer    string          `json:"issuer"`
	ConfigID  string          `json:"credential_configuration_id"`
	VCT       string          `json:"vct"`
	Display   json.RawMessage `json:"display"`
	KeyMode   string          `json:"key_mode"`
	Status    string          `json:"status"`
	Copies    int             `json:"copies"`
	Unused    int             `json:"unused_copies"`
	LowCopies bool            `json:"low_copies"`
	// Refreshable: the wallet holds a grant the issuer may still honour
	// for a new batch (POST …/refresh).
	Refreshable bool       `json:"refreshable"`
	ReceivedAt  time.Time  `json:"received_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	// Claims are the decoded claims (detail only); Disclosable names the
	// top-level claims the citizen chooses to disclose, AlwaysShown those
	// every presentation reveals.
	Claims      map[string]any `json:"claims,omitempty"`
	Disclosable []string       `json:"disclosable,omitempty"`
	AlwaysShown []string       `json:"always_shown,omitempty"`
}

// view makes the app's view of rec; with detail it opens a copy for the
// claims.
func (s *Service) view(a *Account, rec store.HolderCredential, detail bool) (*Credential, error) {
	c := &Credential{ID: rec.ID, Issuer: rec.Issuer, ConfigID: rec.ConfigID, VCT: rec.VCT, Display: json.RawMessage(rec.Display),
		KeyMode: rec.KeyMode, Status: rec.Status, Copies: len(rec.Copies), ReceivedAt: rec.CreatedAt}
	if !rec.ExpiresAt.IsZero() {
		e := rec.ExpiresAt
		c.ExpiresAt = &e
		if rec.Status != StatusRefreshed && !s.now().Before(e) {
			c.Status = StatusExpired
		}
	}
	for _, cp := range rec.Copies {
		if cp.UsedBy == "" {
			c.Unused++
		}
	}
	c.LowCopies = c.Copies > 0 && c.Unused <= LowCopies
	if !detail || len(rec.Copies) == 0 {
		return c, nil
	}
	b, err := s.openCopy(a, rec.ID, rec.Copies[0])
	if err != nil {
		return nil, err
	}
	c.Claims = map[string]any{}
	disclosable := map[string]bool{}
	for _, p := range b.Disclosable {
		top, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		disclosable[top] = true
	}
	for name, v := range b.Claims {
		if technical[name] {
			continue
		}
		c.Claims[name] = v
		if disclosable[name] {
			c.Disclosable = append(c.Disclosable, name)
		} else {
			c.AlwaysShown = append(c.AlwaysShown, name)
		}
	}
	sort.Strings(c.Disclosable)
	sort.Strings(c.AlwaysShown)
	return c, nil
}

// openCopy opens the sealed blob of copy cp of credential credID.
func (s *Service) openCopy(a *Account, credID string, cp store.HolderCopy) (*copyBlob, error) {
	pt, err := keys.OpenData(a.dataKey, cp.Sealed, copyContext(a.ID, credID, cp.N))
	if err != nil {
		return nil, fmt.Errorf("opening a credential copy: %w", err)
	}
	var b copyBlob
	if err := jsonv2.Unmarshal(pt, &b); err != nil { // ours, sealed: see readFlow
		return nil, fmt.Errorf("decoding a credential copy: %w", err)
	}
	return &b, nil
}

// Credentials lists a's credentials, newest first, without claims, each
// with its current status (refreshStatus): the status lists are read
// through the trust layer, whose cache holds each list for its ttl, so a
// list call fetches each status list at most once, and none while the
// cached one is fresh.
func (s *Service) Credentials(ctx context.Context, a *Account) ([]*Credential, error) {
	recs, err := s.cfg.Store.ListHolderCredentials(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("listing credentials: %w", err)
	}
	out := make([]*Credential, 0, len(recs))
	for _, r := range recs {
		if s.readsStatus(r) {
			// The copies' sealed blobs name their status list entries.
			if r, err = s.cfg.Store.GetHolderCredential(ctx, a.ID, r.ID); errors.Is(err, store.ErrNotFound) {
				continue // deleted meanwhile
			} else if err != nil {
				return nil, fmt.Errorf("reading credential: %w", err)
			}
			if err := s.refreshStatus(ctx, a, &r); errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
		} else if r.Copies, err = s.cfg.Store.GetHolderCopies(ctx, a.ID, r.ID); err != nil {
			return nil, fmt.Errorf("reading credential: %w", err)
		}
		v, err := s.view(a, r, false)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Credential returns credential id of a with its decoded claims and its
// current status. Errors: ErrNotFound (none, or another account's).
func (s *Service) Credential(ctx context.Context, a *Account, id string) (*Credential, error) {
	rec, err := s.cfg.Store.GetHolderCredential(ctx, a.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading credential: %w", err)
	}
	if s.readsStatus(rec) {
		if err := s.refreshStatus(ctx, a, &rec); err != nil {
			return nil, err
		}
	}
	return s.view(a, rec, true)
}

// Statuses of a credential as the app sees them: valid, suspended,
// revoked (any copy's status list entry), expired (its exp has passed),
// refreshed (replaced by a newer batch from the issuer: ReceiveRequest's
// Replaces), and
// unknown while its status list cannot be read or proven.
const (
	StatusValid     = "valid"
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
	StatusExpired   = "expired"
	StatusRefreshed = "refreshed"
	StatusUnknown   = "unknown"
	// StatusInvalid: a copy's status list entry holds another value than
	// valid (0), revoked (1) or suspended (2): 3 is the issuer's own
	// meaning in the Token Status List. It is not offered to verifiers.
	StatusInvalid = "status_invalid"
)

// readsStatus: rec's status comes from its status lists, read again when
// it is shown; a refreshed or expired credential's does not.
func (s *Service) readsStatus(rec store.HolderCredential) bool {
	return s.cfg.Status != nil && rec.Status != StatusRefreshed && !s.expired(rec)
}

func (s *Service) expired(rec store.HolderCredential) bool {
	return !rec.ExpiresAt.IsZero() && !s.now().Before(rec.ExpiresAt)
}

// refreshStatus reads the status of rec's copies again (each has its own
// list entry; the trust layer's cache serves a list to every copy and
// credential on it) and stores what changed: the worst of them (revoked,
// then suspended, then unknown, then valid). A list that cannot be read
// or proven makes the status unknown, not stored (the last one seen
// stays in the store, and a revoked one stays revoked): one issuer's outage does not fail the wallet's
// list.
func (s *Service) refreshStatus(ctx context.Context, a *Account, rec *store.HolderCredential) error {
	if len(rec.Copies) == 0 {
		return nil
	}
	rank := map[string]int{StatusValid: 0, StatusUnknown: 1, StatusSuspended: 2, StatusInvalid: 3, StatusRevoked: 4}
	worst := StatusValid
	for _, cp := range rec.Copies {
		b, err := s.openCopy(a, rec.ID, cp)
		if err != nil {
			return err
		}
		if b.StatusURI == "" {
			continue
		}
		st, err := s.statusOf(ctx, b.Issuer, b.StatusURI, b.StatusIdx)
		if err != nil {
			s.log.WarnContext(ctx, "holder could not read a credential's status", "account", a.ID, "credential", rec.ID, "error", errs.CodeOf(err))
			st = StatusUnknown
		}
		if rank[st] > rank[worst] {
			worst = st
		}
	}
	if worst == StatusUnknown {
		if rec.Status != StatusRevoked { // a revocation is for good
			rec.Status = worst
		}
		return nil
	}
	if worst != rec.Status {
		err := s.cfg.Store.SetHolderCredentialStatus(ctx, a.ID, rec.ID, rec.Status, worst)
		switch {
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			// Re-issued (refreshed) or deleted meanwhile: that stands.
			cur, err := s.cfg.Store.GetHolderCredential(ctx, a.ID, rec.ID)
			if errors.Is(err, store.ErrNotFound) {
				return ErrNotFound
			}
			if err != nil {
				return fmt.Errorf("reading credential: %w", err)
			}
			rec.Status = cur.Status
			return nil
		case err != nil:
			return fmt.Errorf("storing credential status: %w", err)
		}
		rec.Status = worst
	}
	return nil
}

// DeleteCredential deletes credential id of a, its copies and their keys.
// Errors: ErrNotFound.
func (s *Service) DeleteCredential(ctx context.Context, a *Account, id string) error {
	err := s.cfg.Store.DeleteHolderCredential(ctx, a.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("deleting credential: %w", err)
	}
	s.log.InfoContext(ctx, "holder credential deleted", "account", a.ID, "credential", id)
	return nil
}
