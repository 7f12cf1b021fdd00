package holder

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
)

// Errors of accounts and sessions.
var (
	ErrInvalidUsername = errs.E(errs.Invalid, "invalid_username", "the username must be 3 to 128 characters of a-z, 0-9 and . _ @ + -")
	ErrWeakPassword    = errs.E(errs.Invalid, "weak_password", "the password must be 10 to 256 characters")
	ErrUsernameTaken   = errs.E(errs.Conflict, "username_taken", "the username is taken")
	ErrInvalidLogin    = errs.E(errs.Unauthorized, "invalid_login", "the username or password is wrong")
	ErrLoginLocked     = errs.E(errs.RateLimited, "login_locked", "too many failed logins: the account is locked for a while")
	ErrLoginRate       = errs.E(errs.RateLimited, "login_rate_limited", "too many login attempts from this client, retry later")
	ErrNoSession       = errs.E(errs.Unauthorized, "invalid_session", "a valid session token is required")
)

// retryAfter carries a Retry-After to the renderer (httpx.RetryAfter).
type retryAfter struct{ secs int }

func (r retryAfter) Error() string          { return "retry later" }
func (r retryAfter) RetryAfterSeconds() int { return r.secs }

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{2,127}$`)

// normalizeUsername lowercases and trims a username and checks it.
func normalizeUsername(u string) (string, error) {
	u = strings.ToLower(strings.TrimSpace(u))
	if !usernameRE.MatchString(u) {
		return "", ErrInvalidUsername
	}
	return u, nil
}

func checkPasswordPolicy(p string) error {
	if n := utf8.RuneCountInString(p); n < 10 || len(p) > 256 || !utf8.ValidString(p) {
		return ErrWeakPassword
	}
	return nil
}

// Account is an authenticated citizen, with the account's data key open
// for the duration of one request (and in the session cache, for at most
// Config.SessionCacheTTL).
type Account struct {
	ID        string
	Username  string
	CreatedAt time.Time
	dataKey   keys.KEK
	tokenHash []byte // the session's
}

func dataKeyContext(accountID string) []byte { return []byte("holder-account-data-key:" + accountID) }

// SignUp creates an account with a fresh data key sealed under the KEK.
// Errors: ErrInvalidUsername, ErrWeakPassword, ErrUsernameTaken, store
// errors. The password is never stored or logged, only its hash.
func (s *Service) SignUp(ctx context.Context, username, password string) (*Account, error) {
	u, err := normalizeUsername(username)
	if err != nil {
		return nil, err
	}
	if err := checkPasswordPolicy(password); err != nil {
		return nil, err
	}
	phc, err := hashPassword(password, s.cfg.KDF)
	if err != nil {
		return nil, err
	}
	dk, err := keys.NewDataKey()
	if err != nil {
		return nil, err
	}
	id := newID()
	sealed, err := keys.SealData(s.cfg.KEK, dk[:], dataKeyContext(id))
	if err != nil {
		return nil, err
	}
	a := store.HolderAccount{ID: id, Username: u, PasswordHash: phc, DataKey: sealed, CreatedAt: s.now()}
	if err := s.cfg.Store.CreateHolderAccount(ctx, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, ErrUsernameTaken
		}
		return nil, fmt.Errorf("creating account: %w", err)
	}
	s.log.InfoContext(ctx, "holder account created", "account", id)
	return &Account{ID: id, Username: u, CreatedAt: a.CreatedAt, dataKey: dk}, nil
}

// Session is a new login session. Token is shown once.
type Session struct {
	Token     string
	AccountID string
	ExpiresAt time.Time
}

func failKey(username string) string { return "holder-login-fail:" + username }
func lockKey(username string) string { return "holder-login-lock:" + username }
func clientKey(client string) string { return "holder-login-client:" + client }

// Login checks username and password and opens a session. In order:
//
//  1. the client's attempt is counted (LoginsPerClient per ClientWindow):
//     over it, ErrLoginRate with Retry-After;
//  2. a locked account answers ErrLoginLocked with Retry-After, without
//     checking the password (a right password does not unlock it);
//  3. a wrong password (or an unknown username, which costs the same) is
//     counted against the account; the MaxFailures-th failure within
//     FailureWindow locks it for Lockout; ErrInvalidLogin;
//  4. a right one clears the account's failures and stores the SHA-256 of
//     a fresh 256-bit token.
//
// Counts and locks live in the store, so every instance on one database
// enforces them together.
func (s *Service) Login(ctx context.Context, username, password, client string) (*Session, error) {
	now := s.now()
	rl, err := s.cfg.Store.HitRateLimit(ctx, clientKey(client), int64(s.cfg.LoginsPerClient), s.cfg.ClientWindow, now)
	if err != nil {
		return nil, fmt.Errorf("counting a login attempt: %w", err)
	}
	if !rl.Allowed {
		return nil, ErrLoginRate.With("", retryAfter{rl.RetryAfter(now)})
	}
	u, err := normalizeUsername(username)
	if err != nil || len(password) > 256 {
		return nil, ErrInvalidLogin
	}
	lock, err := s.cfg.Store.PeekRateLimit(ctx, lockKey(u), now)
	if err != nil {
		return nil, fmt.Errorf("reading the account lock: %w", err)
	}
	if lock.Hits > 0 {
		return nil, ErrLoginLocked.With("", retryAfter{lock.RetryAfter(now)})
	}
	a, err := s.cfg.Store.GetHolderAccountByUsername(ctx, u)
	phc := a.PasswordHash
	switch {
	case errors.Is(err, store.ErrNotFound):
		phc = s.dummyHash()
	case err != nil:
		return nil, fmt.Errorf("reading account: %w", err)
	}
	if !checkPassword(password, phc) || a.ID == "" {
		return nil, s.loginFailed(ctx, u, now)
	}
	if err := s.cfg.Store.ResetRateLimit(ctx, failKey(u)); err != nil {
		return nil, fmt.Errorf("clearing login failures: %w", err)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	tok := "ssiw_" + base64.RawURLEncoding.EncodeToString(raw[:])
	h := sha256.Sum256([]byte(tok))
	sess := store.HolderSession{TokenHash: h[:], AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.cfg.Store.PutHolderSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("storing session: %w", err)
	}
	s.log.InfoContext(ctx, "holder login", "account", a.ID)
	return &Session{Token: tok, AccountID: a.ID, ExpiresAt: sess.ExpiresAt}, nil
}

// loginFailed counts a failure of username and locks the account on the
// MaxFailures-th.
func (s *Service) loginFailed(ctx context.Context, u string, now time.Time) error {
	rl, err := s.cfg.Store.HitRateLimit(ctx, failKey(u), int64(s.cfg.MaxFailures-1), s.cfg.FailureWindow, now)
	if err != nil {
		return fmt.Errorf("counting a failed login: %w", err)
	}
	if rl.Allowed {
		return ErrInvalidLogin
	}
	// A limit of 0 refuses every hit: the lock's row lives until its
	// window, the lock-out, ends.
	if _, err := s.cfg.Store.HitRateLimit(ctx, lockKey(u), 0, s.cfg.Lockout, now); err != nil {
		return fmt.Errorf("locking the account: %w", err)
	}
	if err := s.cfg.Store.ResetRateLimit(ctx, failKey(u)); err != nil {
		return fmt.Errorf("clearing login failures: %w", err)
	}
	s.log.WarnContext(ctx, "holder account locked after failed logins", "failures", s.cfg.MaxFailures)
	return ErrLoginLocked.With("", retryAfter{int(s.cfg.Lockout / time.Second)})
}

// Authenticate returns the account of a live session token, with its data
// key opened. Errors: ErrNoSession (unknown, expired or logged-out token),
// store errors.
func (s *Service) Authenticate(ctx context.Context, token string) (*Account, error) {
	if !strings.HasPrefix(token, "ssiw_") || len(token) > 64 {
		return nil, ErrNoSession
	}
	h := sha256.Sum256([]byte(token))
	now := s.now()
	if a, ok := s.sessions.get(h, now); ok {
		return a, nil
	}
	gen := s.sessions.begin()
	sess, err := s.cfg.Store.GetHolderSession(ctx, h[:], now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("reading session: %w", err)
	}
	a := sess.Account
	pt, err := keys.OpenData(s.cfg.KEK, a.DataKey, dataKeyContext(a.ID))
	if err != nil || len(pt) != len(keys.KEK{}) {
		return nil, fmt.Errorf("opening the account's data key: %w", err)
	}
	acct := &Account{ID: a.ID, Username: a.Username, CreatedAt: a.CreatedAt, tokenHash: h[:]}
	copy(acct.dataKey[:], pt)
	clear(pt)
	s.sessions.put(gen, h, acct, now, sess.ExpiresAt)
	return acct, nil
}

// Logout ends the session a authenticated with.
func (s *Service) Logout(ctx context.Context, a *Account) error {
	if _, err := s.cfg.Store.DeleteHolderSessions(ctx, a.ID, a.tokenHash); err != nil {
		return fmt.Errorf("logging out: %w", err)
	}
	s.sessions.drop(a.ID)
	return nil
}

// LogoutEverywhere ends every session of a's account, and reports how
// many there were.
func (s *Service) LogoutEverywhere(ctx context.Context, a *Account) (int64, error) {
	n, err := s.cfg.Store.DeleteHolderSessions(ctx, a.ID, nil)
	if err != nil {
		return 0, fmt.Errorf("logging out everywhere: %w", err)
	}
	s.sessions.drop(a.ID)
	s.log.InfoContext(ctx, "holder logout everywhere", "account", a.ID, "sessions", n)
	return n, nil
}
