package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PutHolderKey stores a holder key. Errors: ErrInvalid (missing fields, a
// cloud key without its sealed private key or a device key with one),
// ErrConflict (the account has that key), ErrNotFound (no account).
func (s *Store) PutHolderKey(ctx context.Context, k HolderKey) error {
	if err := need("account ID", k.AccountID, "key ID", k.ID, "JWK", k.JWK); err != nil {
		return err
	}
	if (k.Mode == "cloud") != (len(k.Sealed) > 0) || (k.Mode != "cloud" && k.Mode != "device") {
		return ErrInvalid.With("a cloud key has a sealed private key, a device key none", nil)
	}
	var sealed any
	if len(k.Sealed) > 0 {
		sealed = k.Sealed
	}
	_, err := s.w().exec(ctx, `INSERT INTO holder_keys (account_id, id, mode, jwk, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.AccountID, k.ID, k.Mode, k.JWK, sealed, toMicros(s.stamp(k.CreatedAt)))
	if err != nil {
		return fmt.Errorf("storing holder key: %w", err)
	}
	return nil
}

// GetHolderKey returns key id of account. Errors: ErrNotFound.
func (s *Store) GetHolderKey(ctx context.Context, accountID, id string) (HolderKey, error) {
	var k HolderKey
	var at int64
	err := s.r().queryRow(ctx, `SELECT account_id, id, mode, jwk, sealed, created_at FROM holder_keys WHERE account_id = $1 AND id = $2`,
		accountID, id).Scan(&k.AccountID, &k.ID, &k.Mode, &k.JWK, &k.Sealed, &at)
	if err != nil {
		return HolderKey{}, fmt.Errorf("getting holder key: %w", err)
	}
	k.CreatedAt = fromMicros(at)
	return k, nil
}

// PutHolderCredential stores a credential with its copies and their keys
// in one transaction: all of it or nothing. Errors: ErrInvalid, ErrConflict,
// ErrNotFound (no account).
func (s *Store) PutHolderCredential(ctx context.Context, c HolderCredential) error {
	if err := need("account ID", c.AccountID, "ID", c.ID, "issuer", c.Issuer, "configuration", c.ConfigID, "status", c.Status, "key mode", c.KeyMode); err != nil {
		return err
	}
	if len(c.Copies) == 0 {
		return ErrInvalid.With("a credential needs at least one copy", nil)
	}
	return s.InTx(ctx, func(tx *Store) error {
		_, err := tx.w().exec(ctx, `INSERT INTO holder_credentials (account_id, id, issuer, config_id, vct, display, key_mode, status, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.AccountID, c.ID, c.Issuer, c.ConfigID, c.VCT, c.Display, c.KeyMode, c.Status, toMicros(s.stamp(c.CreatedAt)), toMicros(c.ExpiresAt))
		if err != nil {
			return fmt.Errorf("storing holder credential: %w", err)
		}
		for _, k := range c.Keys {
			if k.AccountID != c.AccountID {
				return ErrInvalid.With("a copy's key belongs to another account", nil)
			}
			if err := tx.PutHolderKey(ctx, k); err != nil {
				return err
			}
		}
		for _, cp := range c.Copies {
			if cp.KeyID == "" || len(cp.Sealed) == 0 {
				return ErrInvalid.With("a copy needs a key and a sealed credential", nil)
			}
			if _, err := tx.w().exec(ctx, `INSERT INTO holder_copies (account_id, credential_id, n, key_id, sealed) VALUES ($1, $2, $3, $4, $5)`,
				c.AccountID, c.ID, cp.N, cp.KeyID, cp.Sealed); err != nil {
				return fmt.Errorf("storing holder copy: %w", err)
			}
		}
		return nil
	})
}

const holderCredentialColumns = "account_id, id, issuer, config_id, vct, display, key_mode, status, created_at, expires_at"

func scanHolderCredential(r row) (HolderCredential, error) {
	var c HolderCredential
	var at, exp int64
	if err := r.Scan(&c.AccountID, &c.ID, &c.Issuer, &c.ConfigID, &c.VCT, &c.Display, &c.KeyMode, &c.Status, &at, &exp); err != nil {
		return HolderCredential{}, err
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(at), fromMicros(exp)
	return c, nil
}

// ListHolderCredentials returns account's credentials, newest first,
// without their copies.
func (s *Store) ListHolderCredentials(ctx context.Context, accountID string) ([]HolderCredential, error) {
	var out []HolderCredential
	err := forEach(ctx, s.r(), `SELECT `+holderCredentialColumns+` FROM holder_credentials WHERE account_id = $1 ORDER BY created_at DESC, id`,
		[]any{accountID}, func(r rows) error {
			c, err := scanHolderCredential(r)
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing holder credentials: %w", err)
	}
	return out, nil
}

// GetHolderCredential returns credential id of account with its copies
// in order. Errors: ErrNotFound (none, or another account's).
func (s *Store) GetHolderCredential(ctx context.Context, accountID, id string) (HolderCredential, error) {
	c, err := scanHolderCredential(s.r().queryRow(ctx, `SELECT `+holderCredentialColumns+` FROM holder_credentials WHERE account_id = $1 AND id = $2`, accountID, id))
	if err != nil {
		return HolderCredential{}, fmt.Errorf("getting holder credential: %w", err)
	}
	err = forEach(ctx, s.r(), `SELECT n, key_id, sealed, COALESCE(used_by, ''), used_at FROM holder_copies WHERE account_id = $1 AND credential_id = $2 ORDER BY n`,
		[]any{accountID, id}, func(r rows) error {
			var cp HolderCopy
			var at int64
			err := r.Scan(&cp.N, &cp.KeyID, &cp.Sealed, &cp.UsedBy, &at)
			cp.UsedAt = fromMicros(at)
			c.Copies = append(c.Copies, cp)
			return err
		})
	if err != nil {
		return HolderCredential{}, fmt.Errorf("getting holder copies: %w", err)
	}
	return c, nil
}

// GetHolderCopies returns the copies of credential id of account, in
// order, without their sealed blobs (what choosing one needs). Errors:
// ErrNotFound (no such credential of account).
func (s *Store) GetHolderCopies(ctx context.Context, accountID, id string) ([]HolderCopy, error) {
	var out []HolderCopy
	err := forEach(ctx, s.r(), `SELECT n, key_id, COALESCE(used_by, ''), used_at FROM holder_copies WHERE account_id = $1 AND credential_id = $2 ORDER BY n`,
		[]any{accountID, id}, func(r rows) error {
			var cp HolderCopy
			var at int64
			err := r.Scan(&cp.N, &cp.KeyID, &cp.UsedBy, &at)
			cp.UsedAt = fromMicros(at)
			out = append(out, cp)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing holder copies: %w", err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// GetHolderCopySealed returns the sealed blob of copy n of credential id.
// Errors: ErrNotFound.
func (s *Store) GetHolderCopySealed(ctx context.Context, accountID, id string, n int) ([]byte, error) {
	var b []byte
	if err := s.r().queryRow(ctx, `SELECT sealed FROM holder_copies WHERE account_id = $1 AND credential_id = $2 AND n = $3`, accountID, id, n).Scan(&b); err != nil {
		return nil, fmt.Errorf("getting a holder copy: %w", err)
	}
	return b, nil
}

// HolderCopyPick is a copy chosen by PickHolderCopy: the copy with its
// sealed blob, its key, and how many copies were fresh for the verifier
// (this one included).
type HolderCopyPick struct {
	Copy  HolderCopy
	Key   HolderKey
	Fresh int
}

// PickHolderCopy chooses, in one query, a copy of credential id of account
// that is fresh for the verifier whose client_id hashes to usedBy and is
// not one of except: an unused one at random (concurrent presentations of
// one credential rarely reach for the same copy), or with reuse first one
// already usedBy's. It returns the copy with its sealed blob and key;
// Fresh is 0 when no copy is fresh. Nothing is marked: UseHolderCopy
// takes the copy (and only it guarantees that one presentation gets it).
// Errors: ErrNotFound (no such credential of account).
func (s *Store) PickHolderCopy(ctx context.Context, accountID, id, usedBy string, reuse bool, except []int) (HolderCopyPick, error) {
	q, args := pickHolderCopy(accountID, id, usedBy, reuse, except)
	p, err := scanHolderCopyPick(s.r().queryRow(ctx, q, args...))
	if errors.Is(err, ErrNotFound) {
		// None fresh: is there such a credential at all?
		return HolderCopyPick{}, notFoundOr(ctx, s.r(), nil,
			`SELECT 1 FROM holder_credentials WHERE account_id = $1 AND id = $2`, accountID, id)
	}
	if err != nil {
		return HolderCopyPick{}, fmt.Errorf("picking a holder copy: %w", err)
	}
	return p, nil
}

// pickHolderCopy is PickHolderCopy's query.
func pickHolderCopy(accountID, id, usedBy string, reuse bool, except []int) (string, []any) {
	args := []any{accountID, id}
	fresh := "c.used_by IS NULL"
	if reuse {
		args = append(args, usedBy)
		fresh = "(c.used_by IS NULL OR c.used_by = $3)"
	}
	not := ""
	for _, n := range except {
		args = append(args, n)
		not += fmt.Sprintf(" AND c.n <> $%d", len(args))
	}
	// count(*) OVER () counts the fresh copies before LIMIT; with reuse,
	// the verifier's own copy sorts first (false before true).
	return `SELECT c.n, c.key_id, c.sealed, COALESCE(c.used_by, ''), c.used_at,
		k.account_id, k.id, k.mode, k.jwk, k.sealed, k.created_at, count(*) OVER ()
		FROM holder_copies c JOIN holder_keys k ON k.account_id = c.account_id AND k.id = c.key_id
		WHERE c.account_id = $1 AND c.credential_id = $2 AND ` + fresh + not + `
		ORDER BY (c.used_by IS NULL), random() LIMIT 1`, args
}

func scanHolderCopyPick(r row) (HolderCopyPick, error) {
	var p HolderCopyPick
	var usedAt, keyAt int64
	k := &p.Key
	if err := r.Scan(&p.Copy.N, &p.Copy.KeyID, &p.Copy.Sealed, &p.Copy.UsedBy, &usedAt, &k.AccountID, &k.ID, &k.Mode, &k.JWK, &k.Sealed, &keyAt, &p.Fresh); err != nil {
		return HolderCopyPick{}, err
	}
	p.Copy.UsedAt, k.CreatedAt = fromMicros(usedAt), fromMicros(keyAt)
	return p, nil
}

// GetHolderTransactionPicking is GetHolderTransaction and, in the same
// round trip on PostgreSQL, PickHolderCopy for once-only (an unused copy,
// none excluded) of each of credIDs: picks[i] is credIDs[i]'s, Fresh 0
// when it has none fresh or there is no such credential (PickHolderCopy
// tells which). Errors: GetHolderTransaction's.
func (s *Store) GetHolderTransactionPicking(ctx context.Context, accountID, kind, id string, credIDs []string) (HolderTransaction, []HolderCopyPick, error) {
	q, args := getHolderTransaction(accountID, kind, id)
	stmts := []stmt{{q, args}}
	for _, c := range credIDs {
		q, args := pickHolderCopy(accountID, c, "", false, nil)
		stmts = append(stmts, stmt{q, args})
	}
	var t HolderTransaction
	picks := make([]HolderCopyPick, len(credIDs))
	err := s.r().queryRowAll(ctx, stmts, func(i int, r row) error {
		if i == 0 {
			var err error
			t, err = scanHolderTransaction(r)
			return err
		}
		p, err := scanHolderCopyPick(r)
		if errors.Is(err, ErrNotFound) {
			return nil // Fresh 0
		}
		picks[i-1] = p
		return err
	})
	if err != nil {
		return HolderTransaction{}, nil, fmt.Errorf("getting holder transaction: %w", err)
	}
	return t, picks, nil
}

// SetHolderCredentialStatus records the status last seen of a credential:
// to, when its status is still from ("" for any), so that a status read
// from a status list never overwrites one set meanwhile (a re-issuance's
// refreshed). Errors: ErrNotFound, ErrConflict (it is no longer from).
func (s *Store) SetHolderCredentialStatus(ctx context.Context, accountID, id, from, to string) error {
	n, err := s.w().exec(ctx, `UPDATE holder_credentials SET status = $3 WHERE account_id = $1 AND id = $2 AND ($4 = '' OR status = $4)`, accountID, id, to, from)
	if err != nil {
		return fmt.Errorf("setting holder credential status: %w", err)
	}
	if n == 0 {
		return notFoundOr(ctx, s.w(), ErrConflict.With("the credential's status changed meanwhile", nil),
			`SELECT 1 FROM holder_credentials WHERE account_id = $1 AND id = $2`, accountID, id)
	}
	return nil
}

// DeleteHolderCredential deletes a credential with its copies and their
// keys. Errors: ErrNotFound.
func (s *Store) DeleteHolderCredential(ctx context.Context, accountID, id string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.w().exec(ctx, `DELETE FROM holder_keys WHERE account_id = $1 AND id IN
			(SELECT key_id FROM holder_copies WHERE account_id = $1 AND credential_id = $2)`, accountID, id); err != nil {
			return fmt.Errorf("deleting holder keys: %w", err)
		}
		n, err := tx.w().exec(ctx, `DELETE FROM holder_credentials WHERE account_id = $1 AND id = $2`, accountID, id)
		if err != nil {
			return fmt.Errorf("deleting holder credential: %w", err)
		}
		if n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// UseHolderCopy marks copy n of a credential as gone to the verifier
// whose client_id hashes to usedBy, at at, if it is unused, or (with
// reuse) already that verifier's. Concurrent calls for one copy: one
// wins. Errors: ErrConflict (the copy went to someone else meanwhile),
// ErrNotFound.
func (s *Store) UseHolderCopy(ctx context.Context, accountID, credentialID string, n int, usedBy string, reuse bool, at time.Time) error {
	q, args := useHolderCopy(accountID, credentialID, n, usedBy, reuse, at)
	k, err := s.w().exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("marking a holder copy used: %w", err)
	}
	if k == 0 {
		return s.copyUsedMeanwhile(ctx, accountID, credentialID, n)
	}
	return nil
}

// useHolderCopy is UseHolderCopy's statement.
func useHolderCopy(accountID, credentialID string, n int, usedBy string, reuse bool, at time.Time) (string, []any) {
	cond := "used_by IS NULL"
	if reuse {
		cond = "(used_by IS NULL OR used_by = $4)"
	}
	return `UPDATE holder_copies SET used_by = $4, used_at = $5 WHERE account_id = $1 AND credential_id = $2 AND n = $3 AND ` + cond,
		[]any{accountID, credentialID, n, usedBy, toMicros(at)}
}

// copyUsedMeanwhile is the error of a use of copy n that changed no row:
// ErrConflict, or ErrNotFound when there is no such copy.
func (s *Store) copyUsedMeanwhile(ctx context.Context, accountID, credentialID string, n int) error {
	return notFoundOr(ctx, s.w(), ErrConflict.With("the copy was used meanwhile", nil),
		`SELECT 1 FROM holder_copies WHERE account_id = $1 AND credential_id = $2 AND n = $3`, accountID, credentialID, n)
}

// PutHolderTransaction stores a new flow. Errors: ErrInvalid, ErrConflict,
// ErrNotFound (no account).
func (s *Store) PutHolderTransaction(ctx context.Context, t HolderTransaction) error {
	if err := need("account ID", t.AccountID, "ID", t.ID, "kind", t.Kind, "status", t.Status); err != nil {
		return err
	}
	if len(t.State) == 0 || t.ExpiresAt.IsZero() {
		return ErrInvalid.With("a transaction needs a sealed state and an expiry", nil)
	}
	_, err := s.w().exec(ctx, `INSERT INTO holder_transactions (account_id, id, kind, status, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.AccountID, t.ID, t.Kind, t.Status, t.State, toMicros(s.stamp(t.CreatedAt)), toMicros(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing holder transaction: %w", err)
	}
	return nil
}

// GetHolderTransaction returns flow id of account, of kind. Errors:
// ErrNotFound (none, another account's, or of another kind).
func (s *Store) GetHolderTransaction(ctx context.Context, accountID, kind, id string) (HolderTransaction, error) {
	q, args := getHolderTransaction(accountID, kind, id)
	t, err := scanHolderTransaction(s.r().queryRow(ctx, q, args...))
	if err != nil {
		return HolderTransaction{}, fmt.Errorf("getting holder transaction: %w", err)
	}
	return t, nil
}

func getHolderTransaction(accountID, kind, id string) (string, []any) {
	return `SELECT account_id, id, kind, status, state, created_at, expires_at FROM holder_transactions WHERE account_id = $1 AND id = $2 AND kind = $3`,
		[]any{accountID, id, kind}
}

func scanHolderTransaction(r row) (HolderTransaction, error) {
	var t HolderTransaction
	var at, exp int64
	if err := r.Scan(&t.AccountID, &t.ID, &t.Kind, &t.Status, &t.State, &at, &exp); err != nil {
		return HolderTransaction{}, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(at), fromMicros(exp)
	return t, nil
}

// FinishHolderTransaction moves flow id from status from to status to,
// with a new sealed state (nil keeps it): the single-use step of a flow.
// Errors: ErrConflict (it is not in status from: another call finished
// it), ErrNotFound.
func (s *Store) FinishHolderTransaction(ctx context.Context, accountID, id, from, to string, state []byte) error {
	q, args := finishHolderTransaction(accountID, id, from, to, state)
	n, err := s.w().exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("finishing holder transaction: %w", err)
	}
	if n == 0 {
		return s.transactionMoved(ctx, accountID, id, from)
	}
	return nil
}

// finishHolderTransaction is FinishHolderTransaction's statement.
func finishHolderTransaction(accountID, id, from, to string, state []byte) (string, []any) {
	if state == nil {
		return `UPDATE holder_transactions SET status = $4 WHERE account_id = $1 AND id = $2 AND status = $3`, []any{accountID, id, from, to}
	}
	return `UPDATE holder_transactions SET status = $4, state = $5 WHERE account_id = $1 AND id = $2 AND status = $3`, []any{accountID, id, from, to, state}
}

// transactionMoved is the error of a finish of flow id that changed no
// row: ErrConflict, or ErrNotFound when there is no such flow.
func (s *Store) transactionMoved(ctx context.Context, accountID, id, from string) error {
	return notFoundOr(ctx, s.w(), ErrConflict.With("the transaction is no longer "+from, nil),
		`SELECT 1 FROM holder_transactions WHERE account_id = $1 AND id = $2`, accountID, id)
}

// AddHolderHistory appends a history entry. Errors: ErrInvalid,
// ErrNotFound (no account).
func (s *Store) AddHolderHistory(ctx context.Context, h HolderHistoryEntry) error {
	q, args, err := s.addHolderHistory(h)
	if err != nil {
		return err
	}
	if _, err = s.w().exec(ctx, q, args...); err != nil {
		return fmt.Errorf("adding holder history: %w", err)
	}
	return nil
}

// addHolderHistory checks h and returns AddHolderHistory's statement.
func (s *Store) addHolderHistory(h HolderHistoryEntry) (string, []any, error) {
	if err := need("account ID", h.AccountID, "ID", h.ID, "channel", h.Channel, "verifier", h.Verifier, "outcome", h.Outcome); err != nil {
		return "", nil, err
	}
	return `INSERT INTO holder_history (account_id, id, at, channel, verifier, verifier_name, credential_id, claims, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		[]any{h.AccountID, h.ID, toMicros(s.stamp(h.At)), h.Channel, h.Verifier, h.VerifierName, h.CredentialID, claimsJSON(h.Claims), h.Outcome}, nil
}

// claimsJSON is the claims column of a history entry: its claim names as
// a JSON array.
func claimsJSON(names []string) string {
	b, _ := json.Marshal(names) // strings always encode
	return string(b)
}

// HolderHistoryFilter narrows ListHolderHistory; zero fields match all.
type HolderHistoryFilter struct {
	Verifier     string
	CredentialID string
	Channel      string
	From, To     time.Time // From ≤ at < To
	Limit        int       // default and maximum 1000
}

// ListHolderHistory returns account's history entries matching f, newest
// first.
func (s *Store) ListHolderHistory(ctx context.Context, accountID string, f HolderHistoryFilter) ([]HolderHistoryEntry, error) {
	q := `SELECT account_id, id, at, channel, verifier, verifier_name, credential_id, claims, outcome FROM holder_history WHERE account_id = $1`
	args := []any{accountID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Verifier != "" {
		add("verifier = $%d", f.Verifier)
	}
	if f.CredentialID != "" {
		add("credential_id = $%d", f.CredentialID)
	}
	if f.Channel != "" {
		add("channel = $%d", f.Channel)
	}
	if !f.From.IsZero() {
		add("at >= $%d", toMicros(f.From))
	}
	if !f.To.IsZero() {
		add("at < $%d", toMicros(f.To))
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY at DESC, id LIMIT $%d", len(args))
	var out []HolderHistoryEntry
	err := forEach(ctx, s.r(), q, args, func(r rows) error {
		var h HolderHistoryEntry
		var at int64
		var claims string
		if err := r.Scan(&h.AccountID, &h.ID, &at, &h.Channel, &h.Verifier, &h.VerifierName, &h.CredentialID, &claims, &h.Outcome); err != nil {
			return err
		}
		h.At = fromMicros(at)
		if err := json.Unmarshal([]byte(claims), &h.Claims); err != nil {
			return ErrInternal.With("", err)
		}
		out = append(out, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing holder history: %w", err)
	}
	return out, nil
}

// HolderCopyUse is one copy a presentation takes: copy N of a credential
// goes to the verifier whose client_id hashes to UsedBy (with Reuse, a
// copy already UsedBy's may be taken again).
type HolderCopyUse struct {
	CredentialID string
	N            int
	UsedBy       string
	Reuse        bool
}

// TakeHolderPresentation records a presentation before it is sent, in one
// transaction: flow id moves from status from to to (with a new sealed
// state, unless nil), each copy of uses is marked used (as UseHolderCopy)
// at at, and the history entries are appended. All of it or nothing:
// ErrConflict when the flow is no longer in from or a copy went to
// another verifier meanwhile, ErrNotFound for an unknown flow or copy.
func (s *Store) TakeHolderPresentation(ctx context.Context, accountID, id, from, to string, state []byte, uses []HolderCopyUse, history []HolderHistoryEntry, at time.Time) error {
	// One round trip for BEGIN and the statements, their row counts
	// checked after; a second for COMMIT or ROLLBACK.
	q, args := finishHolderTransaction(accountID, id, from, to, state)
	stmts := []stmt{{q, args}}
	for _, u := range uses {
		q, args := useHolderCopy(accountID, u.CredentialID, u.N, u.UsedBy, u.Reuse, at)
		stmts = append(stmts, stmt{q, args})
	}
	for _, h := range history {
		q, args, err := s.addHolderHistory(h)
		if err != nil {
			return err
		}
		stmts = append(stmts, stmt{q, args})
	}
	err := s.inTxWith(ctx, stmts, func(tx *Store, n []int64) error {
		if n[0] == 0 {
			return tx.transactionMoved(ctx, accountID, id, from)
		}
		for i, u := range uses {
			if n[1+i] == 0 {
				return tx.copyUsedMeanwhile(ctx, accountID, u.CredentialID, u.N)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording a presentation: %w", err)
	}
	return nil
}

// SetHolderHistoryOutcome changes the outcome of history entry id (a
// presentation recorded as shared that could not be delivered). Errors:
// ErrNotFound.
func (s *Store) SetHolderHistoryOutcome(ctx context.Context, accountID, id, outcome string) error {
	n, err := s.w().exec(ctx, `UPDATE holder_history SET outcome = $3 WHERE account_id = $1 AND id = $2`, accountID, id, outcome)
	if err != nil {
		return fmt.Errorf("setting a history outcome: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
