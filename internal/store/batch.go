package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The methods in this file are the many-row forms of single-row methods,
// for callers that group the work of concurrent requests into one
// transaction (the issuer's group commit). Their results say, per row,
// what the single-row method would have said. On PostgreSQL each is one
// statement over arrays (unnest); SQLite, in-process and with one writer,
// runs the single-row statement once per row, which costs no round trip.

func (s *Store) postgres() bool { return s.b.name() == "postgres" }

// ConsumeSingleUses consumes, of values of kind, those that exist and have
// not expired at now, and returns their data by value. A value that is
// absent, expired or listed twice is consumed at most once and, when it
// was not there, is missing from the result (where ConsumeSingleUse says
// ErrNotFound).
func (s *Store) ConsumeSingleUses(ctx context.Context, kind string, values []string, now time.Time) (map[string][]byte, error) {
	out := make(map[string][]byte, len(values))
	if !s.postgres() {
		for _, v := range values {
			if _, done := out[v]; done {
				continue
			}
			u, err := s.ConsumeSingleUse(ctx, kind, v, now)
			switch {
			case errors.Is(err, ErrNotFound):
				continue
			case err != nil:
				return nil, err
			}
			out[v] = u.Data
		}
		return out, nil
	}
	byHash := make(map[string]string, len(values))
	hashes := make([][]byte, 0, len(values))
	for _, v := range values {
		h := valueHash(v)
		if _, dup := byHash[string(h)]; !dup {
			byHash[string(h)] = v
			hashes = append(hashes, h)
		}
	}
	err := forEach(ctx, s.w(),
		"DELETE FROM single_use WHERE kind = $1 AND value_hash = ANY($2::bytea[]) AND expires_at > $3 RETURNING value_hash, data",
		[]any{kind, hashes, toMicros(now)}, func(r rows) error {
			var h, data []byte
			if err := r.Scan(&h, &data); err != nil {
				return err
			}
			out[byHash[string(h)]] = bytesOrNil(data)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("consuming single-use values: %w", err)
	}
	return out, nil
}

// PutSingleUses is PutSingleUse for several values of kind: it stores
// those not stored yet and returns them, by value. A value missing from
// the result was already stored, expired or not, or is listed twice and
// was stored for its first entry (PutSingleUse's ErrConflict). A taken
// value does not fail the others, nor, on PostgreSQL, the transaction.
func (s *Store) PutSingleUses(ctx context.Context, kind string, us []SingleUse) (map[string]bool, error) {
	out := make(map[string]bool, len(us))
	for _, u := range us {
		u.Kind = kind
		if err := checkSingleUse(u); err != nil {
			return nil, err
		}
	}
	if !s.postgres() {
		for _, u := range us {
			u.Kind = kind
			err := s.PutSingleUse(ctx, u)
			switch {
			case errors.Is(err, ErrConflict):
				continue
			case err != nil:
				return nil, err
			}
			out[u.Value] = true
		}
		return out, nil
	}
	byHash := make(map[string]string, len(us))
	hashes, data, expires := make([][]byte, 0, len(us)), make([][]byte, 0, len(us)), make([]int64, 0, len(us))
	for _, u := range us {
		h := valueHash(u.Value)
		if _, dup := byHash[string(h)]; dup {
			continue
		}
		byHash[string(h)] = u.Value
		var d []byte // nil is NULL, as PutSingleUse stores no data
		if len(u.Data) > 0 {
			d = u.Data
		}
		hashes, data, expires = append(hashes, h), append(data, d), append(expires, toMicros(u.ExpiresAt))
	}
	err := forEach(ctx, s.w(),
		`INSERT INTO single_use (kind, value_hash, data, expires_at)
		 SELECT $1, h, d, e FROM unnest($2::bytea[], $3::bytea[], $4::bigint[]) AS t(h, d, e)
		 ON CONFLICT (kind, value_hash) DO NOTHING
		 RETURNING value_hash`,
		[]any{kind, hashes, data, expires}, func(r rows) error {
			var h []byte
			if err := r.Scan(&h); err != nil {
				return err
			}
			out[byHash[string(h)]] = true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("storing single-use values: %w", err)
	}
	return out, nil
}

// CompleteOffers is CompleteOffer for several offers: it returns the IDs
// it completed. An ID missing from the result was not a redeemed offer
// with a token valid at now (CompleteOffer's ErrConflict).
func (s *Store) CompleteOffers(ctx context.Context, ids []string, now time.Time) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if !s.postgres() {
		for _, id := range ids {
			err := s.CompleteOffer(ctx, id, now)
			switch {
			case errors.Is(err, ErrConflict):
				continue
			case err != nil:
				return nil, err
			}
			out[id] = true
		}
		return out, nil
	}
	err := forEach(ctx, s.w(),
		"UPDATE credential_offers SET state = $2, subject_data = NULL WHERE id = ANY($1::text[]) AND state = $3 AND token_expires_at > $4 RETURNING id",
		[]any{ids, OfferIssued, OfferRedeemed, toMicros(now)}, func(r rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			out[id] = true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("completing credential offers: %w", err)
	}
	return out, nil
}

// InsertCredentials is InsertCredential for several records: it returns,
// per record, whether it was inserted. false means its (list, index) pair
// is taken, by an existing record or by an earlier one of cs, and the
// caller may draw another index inside the same transaction. A record
// whose list is not its tenant's fails the whole call with ErrNotFound.
// Record IDs must be new (they are random): a taken ID is ErrConflict for
// the whole call on PostgreSQL, and reads as a taken pair on SQLite.
func (s *Store) InsertCredentials(ctx context.Context, cs []IssuedCredential) ([]bool, error) {
	out := make([]bool, len(cs))
	if !s.postgres() {
		for i, c := range cs {
			err := s.InsertCredential(ctx, c)
			switch {
			case errors.Is(err, ErrConflict):
				continue
			case err != nil:
				return nil, err
			}
			out[i] = true
		}
		return out, nil
	}
	n := len(cs)
	var (
		ids, tenants, configs, subjects, lists, states = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		hashes                                         = make([][]byte, n)
		idx, status, created, expires, issued          = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	)
	pos := make(map[string]int, n)
	for i, c := range cs {
		if err := need("credential ID", c.ID, "tenant ID", c.TenantID, "configuration", c.ConfigID,
			"subject reference", c.SubjectRef, "status list", c.ListID, "state", c.State); err != nil {
			return nil, err
		}
		if len(c.ClaimsHash) == 0 || c.Index < 0 || c.ExpiresAt.IsZero() {
			return nil, ErrInvalid.With("a credential record needs a claims hash, an index and an expiry", nil)
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = s.now()
		}
		ids[i], tenants[i], configs[i], subjects[i], lists[i], states[i] = c.ID, c.TenantID, c.ConfigID, c.SubjectRef, c.ListID, c.State
		hashes[i], idx[i], status[i] = c.ClaimsHash, c.Index, int64(c.Status)
		created[i], expires[i], issued[i] = toMicros(c.CreatedAt), toMicros(c.ExpiresAt), toMicros(c.IssuedAt)
		pos[c.ID] = i
	}
	// The join yields no row for a list of another tenant; the conflict
	// clause none for a taken pair. Rows go in in the order of cs, so of
	// two with one pair the earlier wins.
	err := forEach(ctx, s.w(),
		`INSERT INTO credentials (id, tenant_id, config_id, subject_ref, claims_hash, status_list, status_idx, status, state, created_at, expires_at, issued_at)
		 SELECT t.id, t.tenant_id, t.config_id, t.subject_ref, t.claims_hash, l.id, t.status_idx, t.status, t.state, t.created_at, t.expires_at, t.issued_at
		 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[])
		   WITH ORDINALITY AS t(id, tenant_id, config_id, subject_ref, claims_hash, status_list, status_idx, status, state, created_at, expires_at, issued_at, n)
		 JOIN status_lists l ON l.id = t.status_list AND l.tenant_id = t.tenant_id
		 ORDER BY t.n
		 ON CONFLICT (status_list, status_idx) DO NOTHING
		 RETURNING id`,
		[]any{ids, tenants, configs, subjects, hashes, lists, idx, status, states, created, expires, issued},
		func(r rows) error {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			if i, ok := pos[id]; ok {
				out[i] = true
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("inserting credential records: %w", err)
	}
	for i, ok := range out {
		if ok {
			continue
		}
		if err := notFoundOr(ctx, s.w(), nil, "SELECT 1 FROM status_lists WHERE id = $1 AND tenant_id = $2", lists[i], tenants[i]); err != nil {
			return nil, fmt.Errorf("inserting credential records: %w", err)
		}
	}
	return out, nil
}

// AppendAudits appends records in order, like AppendAudit once each.
func (s *Store) AppendAudits(ctx context.Context, as []AuditRecord) error {
	if !s.postgres() {
		for _, a := range as {
			if _, err := s.AppendAudit(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}
	n := len(as)
	times := make([]int64, n)
	tenants, actors, actions, targets, reqs, outcomes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	details := make([][]byte, n)
	for i, a := range as {
		if err := need("audit action", a.Action); err != nil {
			return err
		}
		if a.Time.IsZero() {
			a.Time = s.now()
		}
		times[i], tenants[i], actors[i], actions[i], targets[i], reqs[i], outcomes[i] = toMicros(a.Time), a.TenantID, a.Actor, a.Action, a.Target, a.RequestID, a.Outcome
		if len(a.Details) > 0 {
			details[i] = a.Details // nil is NULL, as AppendAudit stores it
		}
	}
	_, err := s.w().exec(ctx,
		`INSERT INTO audit (time, tenant_id, actor, action, target, request_id, outcome, details)
		 SELECT time, tenant_id, actor, action, target, request_id, outcome, details
		 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[])
		   WITH ORDINALITY AS t(time, tenant_id, actor, action, target, request_id, outcome, details, n)
		 ORDER BY n`,
		times, tenants, actors, actions, targets, reqs, outcomes, details)
	if err != nil {
		return fmt.Errorf("appending audit records: %w", err)
	}
	return nil
}

// CredentialRef names one credential record of a tenant.
type CredentialRef struct {
	TenantID, ID string
}

// MarkCredentialsIssued is MarkCredentialIssued for several records, all
// at the same time: it returns the refs it marked. A ref missing from the
// result was not a pending record of its tenant.
func (s *Store) MarkCredentialsIssued(ctx context.Context, refs []CredentialRef, at time.Time) (map[CredentialRef]bool, error) {
	out := make(map[CredentialRef]bool, len(refs))
	if !s.postgres() {
		err := s.InTx(ctx, func(tx *Store) error {
			for _, r := range refs {
				err := tx.MarkCredentialIssued(ctx, r.TenantID, r.ID, at)
				switch {
				case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
					continue
				case err != nil:
					return err
				}
				out[r] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	tenants, ids := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		tenants[i], ids[i] = r.TenantID, r.ID
	}
	err := forEach(ctx, s.w(),
		`UPDATE credentials c SET state = $3, issued_at = $4
		 FROM unnest($1::text[], $2::text[]) AS t(tenant_id, id)
		 WHERE c.tenant_id = t.tenant_id AND c.id = t.id AND c.state = $5
		 RETURNING c.tenant_id, c.id`,
		[]any{planPerCall, tenants, ids, CredentialIssued, toMicros(at), CredentialPending}, func(r rows) error {
			var ref CredentialRef
			if err := r.Scan(&ref.TenantID, &ref.ID); err != nil {
				return err
			}
			out[ref] = true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("marking credentials issued: %w", err)
	}
	return out, nil
}

// OffersByTokens is OfferByToken for several access-token hashes: it
// returns the offers found, by token hash (as a string). A hash missing
// from the result is OfferByToken's ErrNotFound.
func (s *Store) OffersByTokens(ctx context.Context, tokenHashes [][]byte, now time.Time) (map[string]CredentialOffer, error) {
	out := make(map[string]CredentialOffer, len(tokenHashes))
	if !s.postgres() {
		for _, h := range tokenHashes {
			o, err := s.OfferByToken(ctx, h, now)
			switch {
			case errors.Is(err, ErrNotFound):
				continue
			case err != nil:
				return nil, err
			}
			out[string(h)] = o
		}
		return out, nil
	}
	err := forEach(ctx, s.r(),
		"SELECT "+offerColumns+" FROM credential_offers WHERE token_hash = ANY($1::bytea[]) AND state = $2 AND token_expires_at > $3",
		[]any{tokenHashes, OfferRedeemed, toMicros(now)}, func(r rows) error {
			o, err := scanOffer(r)
			if err != nil {
				return err
			}
			out[string(o.TokenHash)] = o
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("finding offers by access token: %w", err)
	}
	return out, nil
}
