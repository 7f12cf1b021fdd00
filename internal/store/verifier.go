package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Presentation transaction states.
const (
	PresentationPending  = "pending"
	PresentationVerified = "verified"
	PresentationRejected = "rejected"
	PresentationExpired  = "expired" // never stored: pending past ExpiresAt reads as it
)

// PresentationEvent is one step of a transaction, for the venue's log.
type PresentationEvent struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
}

// Presentation is a verifier's presentation transaction. It never holds a
// presentation, a disclosure or a claim value (DESIGN §5).
type Presentation struct {
	ID           string // the venue's handle; never sent to the wallet
	RequestID    string // in request_uri and response_uri
	TenantID     string
	Policy       string
	Request      []byte // the request's parameters as JSON (DCQL, client_metadata, …)
	ResponseMode string
	Nonce        string
	State        string
	EncKey       []byte // sealed ephemeral private key (direct_post.jwt); nil otherwise
	RedirectURI  string // same-device redirect; "" for cross-device
	Status       string
	// After the verdict:
	Verdict          string
	Reasons          []string
	ClaimNames       []string
	Issuer, VCT      string
	ResponseCodeHash []byte
	Events           []PresentationEvent
	CreatedAt        time.Time
	ExpiresAt        time.Time
	DoneAt           time.Time
}

// PresentationResult is what FinishPresentation records.
type PresentationResult struct {
	Status           string // PresentationVerified or PresentationRejected
	Verdict          string
	Reasons          []string
	ClaimNames       []string
	Issuer, VCT      string
	ResponseCodeHash []byte
	Events           []PresentationEvent
	DoneAt           time.Time
	// Shown, when set, is stored with the verdict as a single-use value
	// (the sealed shown claims), atomically: a reader never sees the
	// verdict without it.
	Shown *SingleUse
}

const presentationColumns = `id, request_id, tenant_id, policy, request, response_mode, nonce, state, enc_key,
	redirect_uri, status, verdict, reasons, claim_names, issuer, vct, response_code_hash, events,
	created_at, expires_at, done_at`

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", ErrInvalid.With("a value cannot be encoded", err)
	}
	return string(b), nil
}

// CreatePresentation stores a new pending transaction. Errors: ErrInvalid
// (missing fields), ErrConflict (the ID or request ID exists), ErrNotFound
// (no such tenant).
func (s *Store) CreatePresentation(ctx context.Context, p Presentation) error {
	if err := need("presentation ID", p.ID, "request ID", p.RequestID, "tenant ID", p.TenantID,
		"policy", p.Policy, "response mode", p.ResponseMode, "nonce", p.Nonce, "state", p.State); err != nil {
		return err
	}
	if len(p.Request) == 0 || p.ExpiresAt.IsZero() {
		return ErrInvalid.With("a presentation needs its request and an expiry", nil)
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now()
	}
	events, err := jsonText(p.Events)
	if err != nil {
		return err
	}
	_, err = s.w().exec(ctx,
		`INSERT INTO verifier_transactions (id, request_id, tenant_id, policy, request, response_mode, nonce, state,
		 enc_key, redirect_uri, status, events, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		p.ID, p.RequestID, p.TenantID, p.Policy, p.Request, p.ResponseMode, p.Nonce, p.State,
		nullBytes(p.EncKey), nullString(p.RedirectURI), PresentationPending, events,
		toMicros(p.CreatedAt), toMicros(p.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing presentation: %w", err)
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func scanPresentation(r row) (Presentation, error) {
	var (
		p                                              Presentation
		redirect, verdict, reasons, names, issuer, vct *string
		events                                         string
		created, expires                               int64
		done                                           *int64
	)
	err := r.Scan(&p.ID, &p.RequestID, &p.TenantID, &p.Policy, &p.Request, &p.ResponseMode, &p.Nonce, &p.State,
		&p.EncKey, &redirect, &p.Status, &verdict, &reasons, &names, &issuer, &vct, &p.ResponseCodeHash, &events,
		&created, &expires, &done)
	if err != nil {
		return Presentation{}, err
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	p.RedirectURI, p.Verdict, p.Issuer, p.VCT = deref(redirect), deref(verdict), deref(issuer), deref(vct)
	p.EncKey, p.ResponseCodeHash = bytesOrNil(p.EncKey), bytesOrNil(p.ResponseCodeHash)
	for _, f := range []struct {
		s   *string
		dst any
	}{{reasons, &p.Reasons}, {names, &p.ClaimNames}, {&events, &p.Events}} {
		if f.s != nil && *f.s != "" {
			if err := json.Unmarshal([]byte(*f.s), f.dst); err != nil {
				return Presentation{}, ErrInvalid.With("a stored presentation is corrupt", err)
			}
		}
	}
	p.CreatedAt, p.ExpiresAt = fromMicros(created), fromMicros(expires)
	if done != nil {
		p.DoneAt = fromMicros(*done)
	}
	return p, nil
}

// GetPresentation returns the transaction with this ID, or ErrNotFound.
func (s *Store) GetPresentation(ctx context.Context, id string) (Presentation, error) {
	p, err := scanPresentation(s.r().queryRow(ctx, "SELECT "+presentationColumns+" FROM verifier_transactions WHERE id = $1", id))
	if err != nil {
		return Presentation{}, fmt.Errorf("getting presentation: %w", err)
	}
	return p, nil
}

// GetPresentationByRequest returns the transaction with this request ID,
// or ErrNotFound.
func (s *Store) GetPresentationByRequest(ctx context.Context, requestID string) (Presentation, error) {
	p, err := scanPresentation(s.r().queryRow(ctx, "SELECT "+presentationColumns+" FROM verifier_transactions WHERE request_id = $1", requestID))
	if err != nil {
		return Presentation{}, fmt.Errorf("getting presentation: %w", err)
	}
	return p, nil
}

// SetPresentationEvents replaces the events of a pending transaction (a
// wallet fetched the request). Errors: ErrConflict when it is no longer
// pending or has no such ID.
func (s *Store) SetPresentationEvents(ctx context.Context, id string, events []PresentationEvent) error {
	ev, err := jsonText(events)
	if err != nil {
		return err
	}
	n, err := s.w().exec(ctx, "UPDATE verifier_transactions SET events = $2 WHERE id = $1 AND status = $3", id, ev, PresentationPending)
	if err != nil {
		return fmt.Errorf("updating presentation events: %w", err)
	}
	if n == 0 {
		return ErrConflict.With("the presentation is no longer pending", nil)
	}
	return nil
}

// FinishPresentation records the verdict of a pending transaction that
// has not expired at now, and drops its encryption key, in one
// conditional statement: of any number of concurrent responses to one
// transaction exactly one is recorded. Every other outcome (finished,
// expired, no such ID) is ErrConflict. With r.Shown the single-use value
// is stored with the verdict, atomically (on PostgreSQL in the same
// statement); ErrInvalid for a malformed one, ErrConflict when it exists.
func (s *Store) FinishPresentation(ctx context.Context, id string, r PresentationResult, now time.Time) error {
	if r.Status != PresentationVerified && r.Status != PresentationRejected {
		return ErrInvalid.With("a finished presentation is verified or rejected", nil)
	}
	reasons, err := jsonText(r.Reasons)
	if err != nil {
		return err
	}
	names, err := jsonText(r.ClaimNames)
	if err != nil {
		return err
	}
	events, err := jsonText(r.Events)
	if err != nil {
		return err
	}
	if r.DoneAt.IsZero() {
		r.DoneAt = now
	}
	const update = `UPDATE verifier_transactions SET status = $2, verdict = $3, reasons = $4, claim_names = $5, issuer = $6, vct = $7,
		 response_code_hash = $8, events = $9, done_at = $10, enc_key = NULL
		 WHERE id = $1 AND status = $11 AND expires_at > $12`
	args := []any{id, r.Status, r.Verdict, reasons, names, nullString(r.Issuer), nullString(r.VCT),
		nullBytes(r.ResponseCodeHash), events, toMicros(r.DoneAt), PresentationPending, toMicros(now)}
	if r.Shown != nil {
		if err := checkSingleUse(*r.Shown); err != nil {
			return err
		}
	}
	var n int64
	switch {
	case r.Shown == nil:
		n, err = s.w().exec(ctx, update, args...)
	case s.Backend() == "postgres":
		// One statement, one round trip: the value is inserted only when
		// the verdict was recorded.
		n, err = s.w().exec(ctx, `WITH done AS (`+update+` RETURNING id)
			INSERT INTO single_use (kind, value_hash, data, expires_at) SELECT $13, $14, $15, $16 FROM done`,
			append(args, r.Shown.Kind, valueHash(r.Shown.Value), nullBytes(r.Shown.Data), toMicros(r.Shown.ExpiresAt))...)
	default:
		err = s.InTx(ctx, func(tx *Store) error {
			var terr error
			if n, terr = tx.w().exec(ctx, update, args...); terr != nil || n == 0 {
				return terr
			}
			return tx.PutSingleUse(ctx, *r.Shown)
		})
	}
	if err != nil {
		return fmt.Errorf("finishing presentation: %w", err)
	}
	if n == 0 {
		return ErrConflict.With("the presentation is not pending", nil)
	}
	return nil
}

// PurgePresentations deletes the transactions that expired (pending) or
// finished at or before `before`, and returns how many.
func (s *Store) PurgePresentations(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w().exec(ctx,
		"DELETE FROM verifier_transactions WHERE (status = $1 AND expires_at <= $2) OR (done_at IS NOT NULL AND done_at <= $2)",
		PresentationPending, toMicros(before))
	if err != nil {
		return 0, fmt.Errorf("purging presentations: %w", err)
	}
	return n, nil
}

// Verdict is one transaction's verdict, for FinishPresentations: what
// FinishPresentation records, except that Events are appended to the
// events stored with the transaction (another instance may have added
// some since this one read it).
type Verdict struct {
	ID string
	PresentationResult
}

// FinishPresentations records several verdicts, each as FinishPresentation
// would (the transaction pending and not expired at now, its encryption
// key dropped, its shown claims stored with it atomically), and returns
// per verdict whether it was recorded: false is FinishPresentation's
// ErrConflict, and a transaction listed twice is recorded for its first
// entry. On PostgreSQL it is one statement over arrays; on SQLite one
// transaction. ErrInvalid (a malformed verdict or shown value) fails the
// whole call before anything is written; so does a shown value that
// exists already (ErrConflict), after which the caller may record the
// verdicts one by one.
func (s *Store) FinishPresentations(ctx context.Context, vs []Verdict, now time.Time) ([]bool, error) {
	out := make([]bool, len(vs))
	first := make(map[string]bool, len(vs))
	for i, v := range vs {
		if v.Status != PresentationVerified && v.Status != PresentationRejected {
			return nil, ErrInvalid.With("a finished presentation is verified or rejected", nil)
		}
		if v.Shown != nil {
			if err := checkSingleUse(*v.Shown); err != nil {
				return nil, err
			}
		}
		if !first[v.ID] {
			first[v.ID] = true
			out[i] = true // a candidate; false below when not recorded
		}
	}
	if !s.postgres() {
		err := s.InTx(ctx, func(tx *Store) error {
			for i, v := range vs {
				if !out[i] {
					continue
				}
				p, err := tx.GetPresentation(ctx, v.ID)
				if errors.Is(err, ErrNotFound) || err == nil && (p.Status != PresentationPending || !now.Before(p.ExpiresAt)) {
					out[i] = false
					continue
				}
				if err != nil {
					return err
				}
				// SQLite has one writer: the row stays as read until the
				// transaction ends.
				r := v.PresentationResult
				r.Events = append(p.Events, r.Events...)
				if err := tx.FinishPresentation(ctx, v.ID, r, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("finishing presentations: %w", err)
		}
		return out, nil
	}
	n := len(vs)
	var (
		ids, statuses, verdicts = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		reasons, names, events  = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		issuers, vcts           = make([]*string, 0, n), make([]*string, 0, n)
		codeHashes              = make([][]byte, 0, n)
		done                    = make([]int64, 0, n)
		suIDs, suKinds          = make([]string, 0, n), make([]string, 0, n)
		suHashes, suData        = make([][]byte, 0, n), make([][]byte, 0, n)
		suExpires               = make([]int64, 0, n)
	)
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	for i, v := range vs {
		if !out[i] {
			continue
		}
		rs, err := jsonText(v.Reasons)
		if err != nil {
			return nil, err
		}
		ns, err := jsonText(v.ClaimNames)
		if err != nil {
			return nil, err
		}
		ev := v.Events
		if ev == nil {
			ev = []PresentationEvent{}
		}
		es, err := jsonText(ev)
		if err != nil {
			return nil, err
		}
		at := v.DoneAt
		if at.IsZero() {
			at = now
		}
		var ch []byte // nil is NULL
		if len(v.ResponseCodeHash) > 0 {
			ch = v.ResponseCodeHash
		}
		ids, statuses, verdicts, reasons, names, events = append(ids, v.ID), append(statuses, v.Status), append(verdicts, v.Verdict),
			append(reasons, rs), append(names, ns), append(events, es)
		issuers, vcts, codeHashes, done = append(issuers, str(v.Issuer)), append(vcts, str(v.VCT)), append(codeHashes, ch), append(done, toMicros(at))
		if u := v.Shown; u != nil {
			var d []byte
			if len(u.Data) > 0 {
				d = u.Data
			}
			suIDs, suKinds, suHashes, suData, suExpires = append(suIDs, v.ID), append(suKinds, u.Kind), append(suHashes, valueHash(u.Value)),
				append(suData, d), append(suExpires, toMicros(u.ExpiresAt))
		}
	}
	recorded := make(map[string]bool, len(ids))
	// The shown values are inserted only for the verdicts recorded; a
	// data-modifying WITH runs whether or not the final SELECT reads it.
	err := forEach(ctx, s.w(),
		`WITH t AS (
		   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::text[], $10::bigint[])
		     AS t(id, status, verdict, reasons, names, issuer, vct, code_hash, events, done_at)),
		 done AS (
		   UPDATE verifier_transactions v SET status = t.status, verdict = t.verdict, reasons = t.reasons, claim_names = t.names,
		     issuer = t.issuer, vct = t.vct, response_code_hash = t.code_hash, done_at = t.done_at, enc_key = NULL,
		     events = (COALESCE(NULLIF(v.events, 'null'), '[]')::jsonb || t.events::jsonb)::text
		   FROM t WHERE v.id = t.id AND v.status = $11 AND v.expires_at > $12
		   RETURNING v.id),
		 shown AS (
		   INSERT INTO single_use (kind, value_hash, data, expires_at)
		   SELECT u.kind, u.h, u.d, u.e FROM unnest($13::text[], $14::text[], $15::bytea[], $16::bytea[], $17::bigint[]) AS u(id, kind, h, d, e)
		   JOIN done ON done.id = u.id)
		 SELECT id FROM done`,
		[]any{ids, statuses, verdicts, reasons, names, issuers, vcts, codeHashes, events, done, PresentationPending, toMicros(now),
			suIDs, suKinds, suHashes, suData, suExpires},
		func(r rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			recorded[id] = true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("finishing presentations: %w", err)
	}
	for i, v := range vs {
		out[i] = out[i] && recorded[v.ID]
	}
	return out, nil
}
