package httpx

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
)

// API keys look like "ssi_<id>_<secret>": id is 16 hex digits and is stored
// in clear as the key's name; secret is 256 random bits in base64url, and
// only its SHA-256 is stored.
const apiKeyPrefix = "ssi_"

// Stable auth codes.
var (
	ErrUnauthenticated = errs.E(errs.Unauthorized, "unauthenticated", "a valid API key is required")
	ErrMissingScope    = errs.E(errs.Forbidden, "insufficient_scope", "the API key lacks the scope this action needs")
)

// Principal is the authenticated caller of an admin API.
type Principal struct {
	TenantID string
	KeyID    string
	Scopes   []string
}

// Has reports whether p holds scope.
func (p Principal) Has(scope string) bool { return slices.Contains(p.Scopes, scope) }

// PrincipalFrom returns the caller authenticated by Authenticate.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey).(Principal)
	return p, ok
}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// NewAPIKey returns a fresh key to show once, and the record to store.
func NewAPIKey(tenantID string, scopes []string, now time.Time) (string, store.APIKey, error) {
	var id [8]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", store.APIKey{}, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", store.APIKey{}, err
	}
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(sec))
	rec := store.APIKey{
		ID:        hex.EncodeToString(id[:]),
		TenantID:  tenantID,
		Hash:      sum[:],
		Scopes:    slices.Clone(scopes),
		CreatedAt: now,
	}
	return apiKeyPrefix + rec.ID + "_" + sec, rec, nil
}

// parseAPIKey splits a presented key into its id and secret.
func parseAPIKey(s string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(s, apiKeyPrefix)
	if !ok || len(rest) < 18 || rest[16] != '_' || len(rest) > 128 {
		return "", "", false
	}
	id, secret = rest[:16], rest[17:]
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", "", false
	}
	return id, secret, true
}

func presentedKey(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// KeyStore is what authentication needs from the store.
type KeyStore interface {
	GetAPIKey(ctx context.Context, id string) (store.APIKey, error)
}

// Auditor appends audit records.
type Auditor interface {
	AppendAudit(ctx context.Context, rec store.AuditRecord) (int64, error)
}

// Authenticate requires an API key (Authorization: Bearer or X-API-Key).
// A missing, malformed, unknown or revoked key is answered 401; the store
// being down is 503. The comparison of secrets is constant-time.
func Authenticate(keys KeyStore) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, secret, ok := parseAPIKey(presentedKey(r))
			if !ok {
				Render(w, r, ErrUnauthenticated)
				return
			}
			k, err := keys.GetAPIKey(r.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				Render(w, r, ErrUnauthenticated)
				return
			}
			if err != nil {
				Render(w, r, errs.Wrap(errs.Unavailable, "store_unavailable", "authentication is unavailable, try again later", err))
				return
			}
			sum := sha256.Sum256([]byte(secret))
			if subtle.ConstantTimeCompare(sum[:], k.Hash) != 1 || !k.RevokedAt.IsZero() {
				Render(w, r, ErrUnauthenticated)
				return
			}
			p := Principal{TenantID: k.TenantID, KeyID: k.ID, Scopes: k.Scopes}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// RequireScope answers 403 when the caller lacks scope, and records the
// refusal in the caller's audit log. A request it lets through is marked
// as authorized, which Idempotency requires.
func RequireScope(scope string, audit Auditor, now func() time.Time) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				Render(w, r, ErrUnauthenticated)
				return
			}
			if !p.Has(scope) {
				route := ""
				if rc := chi.RouteContext(r.Context()); rc != nil {
					route = rc.RoutePattern()
				}
				_, err := audit.AppendAudit(r.Context(), store.AuditRecord{
					Time: now(), TenantID: p.TenantID, Actor: p.KeyID, Action: "authz.denied",
					Target: r.Method + " " + route, RequestID: RequestID(r.Context()), Outcome: "denied",
				})
				if err != nil {
					Render(w, r, store.ErrAuditUnavailable.With("", err))
					return
				}
				Render(w, r, ErrMissingScope.With("this action needs the scope "+scope, nil))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopeCheckedKey, true)))
		})
	}
}

// scopeChecked reports whether RequireScope let the request through.
func scopeChecked(ctx context.Context) bool {
	ok, _ := ctx.Value(scopeCheckedKey).(bool)
	return ok
}
