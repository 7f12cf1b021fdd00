package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// The holder's records (migration 0009). Every byte slice named Sealed,
// State or DataKey is ciphertext: the holder seals it before the store
// sees it, and the store never reads inside.

// HolderAccount is a citizen's wallet account.
type HolderAccount struct {
	ID           string
	Username     string // normalized by the holder
	PasswordHash string // argon2id PHC string
	DataKey      []byte // sealed under the KEK
	CreatedAt    time.Time
}

// HolderSession is a login session; only the token's SHA-256 is kept.
type HolderSession struct {
	TokenHash []byte
	AccountID string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Account is the session's account, read with it by GetHolderSession
	// (one query per authenticated request, not two); PutHolderSession
	// ignores it.
	Account HolderAccount
}

// HolderKey is a holder key of one credential copy.
type HolderKey struct {
	AccountID string
	ID        string // the JWK thumbprint
	Mode      string // "cloud" or "device"
	JWK       string // the public key, JSON
	Sealed    []byte // cloud: the private key sealed under the data key; device: nil
	CreatedAt time.Time
}

// HolderCredential is one issuance received by a wallet, with its copies.
type HolderCredential struct {
	AccountID string
	ID        string
	Issuer    string
	ConfigID  string
	VCT       string
	Display   string // the issuer's display metadata, JSON
	KeyMode   string // "cloud" or "device"
	Status    string // valid, suspended, revoked, expired, refreshed
	CreatedAt time.Time
	ExpiresAt time.Time
	Copies    []HolderCopy // set by PutHolderCredential's caller and by GetHolderCredential
	// Keys are the copies' holder keys, stored by PutHolderCredential in
	// its transaction (GetHolderCredential leaves it nil).
	Keys []HolderKey
}

// HolderCopy is one batch copy: an SD-JWT bound to its own key.
type HolderCopy struct {
	N      int
	KeyID  string
	Sealed []byte // the SD-JWT with its disclosures, sealed under the data key
	UsedBy string // SHA-256 hex of the client_id it went to, "" while unused
	UsedAt time.Time
}

// HolderTransaction is a flow spanning two calls.
type HolderTransaction struct {
	AccountID string
	ID        string
	Kind      string
	Status    string
	State     []byte // sealed under the data key
	CreatedAt time.Time
	ExpiresAt time.Time
}

// HolderHistoryEntry is one disclosure, or refusal, in the sharing
// history. Claims are names, never values.
type HolderHistoryEntry struct {
	AccountID    string
	ID           string
	At           time.Time
	Channel      string // "online" or "offline"
	Verifier     string // the verifier's DID or client_id
	VerifierName string
	CredentialID string
	Claims       []string
	Outcome      string
}

// CreateHolderAccount stores a new account. Errors: ErrInvalid,
// ErrConflict (the username is taken).
func (s *Store) CreateHolderAccount(ctx context.Context, a HolderAccount) error {
	if err := need("ID", a.ID, "username", a.Username, "password hash", a.PasswordHash); err != nil {
		return err
	}
	if len(a.DataKey) == 0 {
		return ErrInvalid.With("an account needs a sealed data key", nil)
	}
	_, err := s.w().exec(ctx, `INSERT INTO holder_accounts (id, username, password_hash, data_key, created_at) VALUES ($1, $2, $3, $4, $5)`,
		a.ID, a.Username, a.PasswordHash, a.DataKey, toMicros(s.stamp(a.CreatedAt)))
	if err != nil {
		return fmt.Errorf("creating holder account: %w", err)
	}
	return nil
}

func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

const holderAccountColumns = "id, username, password_hash, data_key, created_at"

func scanHolderAccount(r row) (HolderAccount, error) {
	var a HolderAccount
	var at int64
	if err := r.Scan(&a.ID, &a.Username, &a.PasswordHash, &a.DataKey, &at); err != nil {
		return HolderAccount{}, err
	}
	a.CreatedAt = fromMicros(at)
	return a, nil
}

// GetHolderAccount returns the account id. Errors: ErrNotFound.
func (s *Store) GetHolderAccount(ctx context.Context, id string) (HolderAccount, error) {
	a, err := scanHolderAccount(s.r().queryRow(ctx, "SELECT "+holderAccountColumns+" FROM holder_accounts WHERE id = $1", id))
	if err != nil {
		return HolderAccount{}, fmt.Errorf("getting holder account: %w", err)
	}
	return a, nil
}

// GetHolderAccountByUsername returns the account of username. Errors:
// ErrNotFound.
func (s *Store) GetHolderAccountByUsername(ctx context.Context, username string) (HolderAccount, error) {
	a, err := scanHolderAccount(s.r().queryRow(ctx, "SELECT "+holderAccountColumns+" FROM holder_accounts WHERE username = $1", username))
	if err != nil {
		return HolderAccount{}, fmt.Errorf("getting holder account: %w", err)
	}
	return a, nil
}

// PutHolderSession stores a session. Errors: ErrInvalid, ErrNotFound (no
// such account), ErrConflict (a token hash collision).
func (s *Store) PutHolderSession(ctx context.Context, h HolderSession) error {
	if err := need("account ID", h.AccountID); err != nil {
		return err
	}
	if len(h.TokenHash) != sha256.Size || h.ExpiresAt.IsZero() {
		return ErrInvalid.With("a session needs a token hash and an expiry", nil)
	}
	_, err := s.w().exec(ctx, `INSERT INTO holder_sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		h.TokenHash, h.AccountID, toMicros(s.stamp(h.CreatedAt)), toMicros(h.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing holder session: %w", err)
	}
	return nil
}

// GetHolderSession returns the session of tokenHash that has not expired
// at now, with its account. Errors: ErrNotFound (none, or expired).
func (s *Store) GetHolderSession(ctx context.Context, tokenHash []byte, now time.Time) (HolderSession, error) {
	var h HolderSession
	var at, exp, acctAt int64
	a := &h.Account
	err := s.r().queryRow(ctx, `SELECT s.token_hash, s.account_id, s.created_at, s.expires_at, a.id, a.username, a.password_hash, a.data_key, a.created_at
		FROM holder_sessions s JOIN holder_accounts a ON a.id = s.account_id WHERE s.token_hash = $1 AND s.expires_at > $2`,
		tokenHash, toMicros(now)).Scan(&h.TokenHash, &h.AccountID, &at, &exp, &a.ID, &a.Username, &a.PasswordHash, &a.DataKey, &acctAt)
	if err != nil {
		return HolderSession{}, fmt.Errorf("getting holder session: %w", err)
	}
	h.CreatedAt, h.ExpiresAt, a.CreatedAt = fromMicros(at), fromMicros(exp), fromMicros(acctAt)
	return h, nil
}

// DeleteHolderSessions deletes the session tokenHash of account, or, with
// a nil tokenHash, every session of account (logout everywhere), and
// returns how many it deleted. On PostgreSQL it announces account to
// every WatchHolderSessions of the database, in the deletion's
// transaction (delivered when it commits).
func (s *Store) DeleteHolderSessions(ctx context.Context, accountID string, tokenHash []byte) (int64, error) {
	del := stmt{`DELETE FROM holder_sessions WHERE account_id = $1`, []any{accountID}}
	if tokenHash != nil {
		del = stmt{`DELETE FROM holder_sessions WHERE account_id = $1 AND token_hash = $2`, []any{accountID, tokenHash}}
	}
	stmts := []stmt{del}
	if s.postgres() {
		stmts = append(stmts, stmt{`SELECT pg_notify($1, $2)`, []any{holderSessionsChannel, accountID}})
	}
	// One pipeline: outside a transaction, one implicit transaction.
	n, err := s.w().execAll(ctx, stmts)
	if err != nil {
		return 0, fmt.Errorf("deleting holder sessions: %w", err)
	}
	return n[0], nil
}

// PurgeHolderSessions deletes the sessions expired at before.
func (s *Store) PurgeHolderSessions(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w().exec(ctx, `DELETE FROM holder_sessions WHERE expires_at <= $1`, toMicros(before))
	if err != nil {
		return 0, fmt.Errorf("purging holder sessions: %w", err)
	}
	return n, nil
}

// PeekRateLimit reads the window of key at now without counting a hit:
// Hits is 0 (and WindowEnd zero) when the key has no running window.
func (s *Store) PeekRateLimit(ctx context.Context, key string, now time.Time) (RateLimit, error) {
	h := sha256.Sum256([]byte(key))
	var hits, end int64
	err := s.r().queryRow(ctx, `SELECT hits, window_end FROM rate_limits WHERE key_hash = $1 AND window_end > $2`, h[:], toMicros(now)).Scan(&hits, &end)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return RateLimit{Allowed: true}, nil
		}
		return RateLimit{}, fmt.Errorf("reading a rate-limit window: %w", err)
	}
	return RateLimit{Allowed: true, Hits: hits, WindowEnd: fromMicros(end)}, nil
}

// ResetRateLimit ends key's window (a successful login clears its
// failures).
func (s *Store) ResetRateLimit(ctx context.Context, key string) error {
	h := sha256.Sum256([]byte(key))
	if _, err := s.w().exec(ctx, `DELETE FROM rate_limits WHERE key_hash = $1`, h[:]); err != nil {
		return fmt.Errorf("resetting a rate-limit window: %w", err)
	}
	return nil
}

// PurgeHolderTransactions deletes the two-call flows that expired at
// before (finished ones too: their state is sealed, and no step reads it
// after expiry).
func (s *Store) PurgeHolderTransactions(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w().exec(ctx, `DELETE FROM holder_transactions WHERE expires_at <= $1`, toMicros(before))
	if err != nil {
		return 0, fmt.Errorf("purging holder transactions: %w", err)
	}
	return n, nil
}
