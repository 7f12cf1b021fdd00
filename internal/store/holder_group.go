package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// HolderTake is one presentation for TakeHolderPresentations, with
// TakeHolderPresentation's arguments.
type HolderTake struct {
	AccountID, ID, From, To string
	State                   []byte
	Uses                    []HolderCopyUse
	History                 []HolderHistoryEntry
	At                      time.Time
}

// TakeHolderPresentations records several presentations, each as
// TakeHolderPresentation records one, and returns each one's outcome:
// errs[i] is takes[i]'s (nil, or TakeHolderPresentation's errors). Each is
// recorded whole or not at all, and one that cannot be recorded (its flow
// moved on, a copy went to another verifier) does not stop the others.
//
// On PostgreSQL several share one transaction, so one commit serves them
// all: its BEGIN goes in one round trip with a statement per presentation
// that locks its flow (still in From) with its copies (still free for it);
// the presentations whose rows were all there are then written with three
// statements for all of them, and committed. The locks keep what was
// checked true until the commit, across instances. A database error
// before the commit (a deadlock with another instance's transaction)
// rolls all of it back, and each presentation is then recorded alone.
func (s *Store) TakeHolderPresentations(ctx context.Context, takes []HolderTake) []error {
	errs := make([]error, len(takes))
	if !s.postgres() || s.tx != nil || len(takes) == 1 {
		for i, t := range takes {
			errs[i] = s.TakeHolderPresentation(ctx, t.AccountID, t.ID, t.From, t.To, t.State, t.Uses, t.History, t.At)
		}
		return errs
	}
	var (
		locks []stmt
		by    []int // locks[j] is takes[by[j]]'s
		in    []int // the takes locked
	)
	for i, t := range takes {
		if err := checkHolderTake(t); err != nil {
			errs[i] = err
			continue
		}
		for _, l := range lockHolderTake(t) {
			locks = append(locks, l)
			by = append(by, i)
		}
		in = append(in, i)
	}
	if len(in) == 0 {
		return errs
	}
	var (
		failed    []int // takes whose rows were not all there
		committed bool
	)
	err := s.inTxWith(ctx, locks, func(tx *Store, n []int64) error {
		var ok []HolderTake
		failed = failed[:0]
		// A row this transaction locked for one take is locked for the
		// next too: the first take of a flow or a copy has it.
		claimed := map[string]bool{}
		locked := map[int]bool{} // a take each of whose locks got its row
		for _, i := range in {
			locked[i] = true
		}
		for j, i := range by {
			locked[i] = locked[i] && n[j] == 1
		}
		for _, i := range in {
			t := takes[i]
			keys := []string{"t\x00" + t.AccountID + "\x00" + t.ID}
			for _, u := range t.Uses {
				keys = append(keys, fmt.Sprintf("c\x00%s\x00%s\x00%d", t.AccountID, u.CredentialID, u.N))
			}
			free := locked[i]
			for _, k := range keys {
				free = free && !claimed[k]
			}
			if !free {
				failed = append(failed, i)
				continue
			}
			for _, k := range keys {
				claimed[k] = true
			}
			ok = append(ok, t)
		}
		if len(ok) > 0 {
			w, want := s.writeHolderTakes(ok)
			got, err := tx.w().execAll(ctx, w)
			if err != nil {
				return err
			}
			for k := range want {
				if got[k] != want[k] {
					// The locks should make this impossible.
					return ErrInternal.With("", fmt.Errorf("a grouped presentation wrote %d rows of %d", got[k], want[k]))
				}
			}
		}
		committed = true
		return nil
	})
	switch {
	case err != nil && committed:
		// The commit failed: whether it happened is not known.
		for _, i := range in {
			errs[i] = fmt.Errorf("recording a presentation: %w", err)
		}
		return errs
	case err != nil:
		for _, i := range in {
			t := takes[i]
			errs[i] = s.TakeHolderPresentation(ctx, t.AccountID, t.ID, t.From, t.To, t.State, t.Uses, t.History, t.At)
		}
		return errs
	}
	for _, i := range failed {
		errs[i] = fmt.Errorf("recording a presentation: %w", s.holderTakeFailed(ctx, takes[i]))
	}
	return errs
}

// checkHolderTake checks what TakeHolderPresentation's statements would
// refuse before running.
func checkHolderTake(t HolderTake) error {
	for _, h := range t.History {
		if err := need("account ID", h.AccountID, "ID", h.ID, "channel", h.Channel, "verifier", h.Verifier, "outcome", h.Outcome); err != nil {
			return err
		}
	}
	return nil
}

// lockHolderTake are the statements that lock t's flow, if still in
// t.From, and each of its copies that is still free for it: each selects
// one row when its rows are there. Plain equalities, without arrays, so
// that PostgreSQL plans each once per connection.
func lockHolderTake(t HolderTake) []stmt {
	if len(t.Uses) == 0 {
		return []stmt{{`SELECT 1 FROM holder_transactions WHERE account_id = $1 AND id = $2 AND status = $3 FOR UPDATE`,
			[]any{t.AccountID, t.ID, t.From}}}
	}
	u := t.Uses[0]
	out := []stmt{{`SELECT 1 FROM holder_transactions t, holder_copies c
		WHERE t.account_id = $1 AND t.id = $2 AND t.status = $3
		AND c.account_id = $1 AND c.credential_id = $4 AND c.n = $5 AND (c.used_by IS NULL OR ($6 AND c.used_by = $7))
		FOR UPDATE OF t, c`, []any{t.AccountID, t.ID, t.From, u.CredentialID, int64(u.N), u.Reuse, u.UsedBy}}}
	for _, u := range t.Uses[1:] {
		out = append(out, stmt{`SELECT 1 FROM holder_copies
			WHERE account_id = $1 AND credential_id = $2 AND n = $3 AND (used_by IS NULL OR ($4 AND used_by = $5))
			FOR UPDATE`, []any{t.AccountID, u.CredentialID, int64(u.N), u.Reuse, u.UsedBy}})
	}
	return out
}

// writeHolderTakes are the statements that record takes, whose rows are
// locked, and the rows each must change.
func (s *Store) writeHolderTakes(takes []HolderTake) ([]stmt, []int64) {
	var (
		tAcct, tID, tFrom, tTo                    []string
		tState                                    [][]byte
		cAcct, cCred, cBy                         []string
		cN, cAt                                   []int64
		cReuse                                    []bool
		hAcct, hID, hChan, hVer, hName, hCred, hO []string
		hClaims                                   []string
		hAt                                       []int64
	)
	for _, t := range takes {
		tAcct, tID, tFrom, tTo, tState = append(tAcct, t.AccountID), append(tID, t.ID), append(tFrom, t.From), append(tTo, t.To), append(tState, t.State)
		for _, u := range t.Uses {
			cAcct, cCred, cBy = append(cAcct, t.AccountID), append(cCred, u.CredentialID), append(cBy, u.UsedBy)
			cN, cAt, cReuse = append(cN, int64(u.N)), append(cAt, toMicros(t.At)), append(cReuse, u.Reuse)
		}
		for _, h := range t.History {
			hAcct, hID, hChan, hVer = append(hAcct, h.AccountID), append(hID, h.ID), append(hChan, h.Channel), append(hVer, h.Verifier)
			hName, hCred, hO = append(hName, h.VerifierName), append(hCred, h.CredentialID), append(hO, h.Outcome)
			hClaims, hAt = append(hClaims, claimsJSON(h.Claims)), append(hAt, toMicros(s.stamp(h.At)))
		}
	}
	// The statements' arrays make PostgreSQL plan them anew at every
	// call (its estimate of a generic plan is higher): the generic plan,
	// a nested loop over the array with the primary key, is the one.
	return []stmt{
			{`SET LOCAL plan_cache_mode = force_generic_plan`, nil},
			{`UPDATE holder_transactions t SET status = u.to_status, state = COALESCE(u.state, t.state)
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) AS u(account_id, id, from_status, to_status, state)
			WHERE t.account_id = u.account_id AND t.id = u.id AND t.status = u.from_status`,
				[]any{tAcct, tID, tFrom, tTo, tState}},
			{`UPDATE holder_copies c SET used_by = u.used_by, used_at = u.at
			FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bool[], $6::bigint[]) AS u(account_id, credential_id, n, used_by, reuse, at)
			WHERE c.account_id = u.account_id AND c.credential_id = u.credential_id AND c.n = u.n AND (c.used_by IS NULL OR (u.reuse AND c.used_by = u.used_by))`,
				[]any{cAcct, cCred, cN, cBy, cReuse, cAt}},
			{`INSERT INTO holder_history (account_id, id, at, channel, verifier, verifier_name, credential_id, claims, outcome)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])`,
				[]any{hAcct, hID, hAt, hChan, hVer, hName, hCred, hClaims, hO}},
		}, []int64{
			0, int64(len(tAcct)), int64(len(cAcct)), int64(len(hAcct)),
		}
}

// holderTakeFailed is the error of a take whose rows were not all there:
// TakeHolderPresentation's ErrConflict or ErrNotFound.
func (s *Store) holderTakeFailed(ctx context.Context, t HolderTake) error {
	var status string
	err := s.w().queryRow(ctx, `SELECT status FROM holder_transactions WHERE account_id = $1 AND id = $2`, t.AccountID, t.ID).Scan(&status)
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrNotFound
	case err != nil:
		return err
	case status != t.From:
		return ErrConflict.With("the transaction is no longer "+t.From, nil)
	}
	for _, u := range t.Uses {
		var by string
		err := s.w().queryRow(ctx, `SELECT COALESCE(used_by, '') FROM holder_copies WHERE account_id = $1 AND credential_id = $2 AND n = $3`,
			t.AccountID, u.CredentialID, u.N).Scan(&by)
		switch {
		case errors.Is(err, ErrNotFound):
			return ErrNotFound
		case err != nil:
			return err
		case by != "" && (!u.Reuse || by != u.UsedBy):
			return ErrConflict.With("the copy was used meanwhile", nil)
		}
	}
	// Free now: what was taken meanwhile was given back (a rolled-back
	// transaction); the caller may try again.
	return ErrConflict.With("the presentation's rows changed meanwhile", nil)
}
