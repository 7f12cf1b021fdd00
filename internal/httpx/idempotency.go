package httpx

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
)

// IdemStore is what Idempotency needs from the store.
type IdemStore interface {
	BeginIdempotent(ctx context.Context, rec store.IdempotencyRecord) (store.IdempotencyRecord, bool, error)
	CompleteIdempotent(ctx context.Context, tenant, key string, status int, contentType string, body []byte) error
	AbandonIdempotent(ctx context.Context, tenant, key string) error
}

// Stable idempotency codes.
var (
	ErrIdemKeyInvalid  = errs.E(errs.Invalid, "invalid_idempotency_key", "the Idempotency-Key header must be 1 to 255 printable ASCII characters")
	ErrIdemKeyReused   = errs.E(errs.Unprocessable, "idempotency_key_reused", "the Idempotency-Key was used before with a different request")
	ErrIdemInProgress  = errs.E(errs.Conflict, "idempotency_in_progress", "a request with this Idempotency-Key is still being processed")
	idempotencyHeader  = "Idempotency-Key"
	idempotentReplayed = "Idempotent-Replayed"
)

func validIdemKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// IdempotencyTTL is how long a stored response can be replayed.
const IdempotencyTTL = 24 * time.Hour

// idemKeys derives, from the client's Idempotency-Key and the API key that
// sent it, the name the store keeps (a hash, never the key itself) and the
// AES-256-GCM key that seals the stored response. Responses can carry
// secrets shown once (an API key, a tx_code, a pre-authorized code): only
// the API key that made the request, holding the Idempotency-Key, can have
// them replayed, and the database alone never reveals them. Each API key
// has a key space of its own: another key of the same tenant that sends
// the same Idempotency-Key finds no record, so its request is processed as
// a new one (after its own scope check), never answered with the other
// key's response, and it learns nothing about the other key's requests.
func idemKeys(p Principal, key string) (name string, seal cipher.AEAD) {
	id := p.TenantID + "\x00" + p.KeyID + "\x00" + key
	n := sha256.Sum256([]byte("ssi idempotency name\x00" + id))
	k := sha256.Sum256([]byte("ssi idempotency seal\x00" + id))
	block, _ := aes.NewCipher(k[:]) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	return hex.EncodeToString(n[:]), aead
}

func sealBody(aead cipher.AEAD, name string, body []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(body)+aead.Overhead())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, body, []byte(name))
}

func openBody(aead cipher.AEAD, name string, blob []byte) ([]byte, error) {
	if len(blob) < aead.NonceSize() {
		return nil, errors.New("sealed response too short")
	}
	return aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], []byte(name))
}

// bufferedWriter holds a response so that it can be stored before it is sent.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Guard is the authorization and idempotency of the authenticated routes
// of one API (mounted after Authenticate).
type Guard struct {
	Audit   Auditor
	Idem    IdemStore
	Now     func() time.Time
	MaxBody int64 // the body cap of Idempotency
}

// Scope returns the middleware of a route that needs scope: RequireScope,
// then Idempotency. The order is the point: a stored response is replayed
// only to a caller the route authorizes, so a key without the scope gets
// 403 however it names an earlier request.
func (g Guard) Scope(scope string) func(http.Handler) http.Handler {
	authz := RequireScope(scope, g.Audit, g.Now)
	idem := Idempotency(g.Idem, g.Now, IdempotencyTTL, g.MaxBody)
	return func(next http.Handler) http.Handler { return authz(idem(next)) }
}

// Idempotency makes POSTs that carry an Idempotency-Key header safe to
// retry, per API key: the first request is processed and its response
// stored; the same request again from the same API key gets the stored
// response (with Idempotent-Replayed: true); a different request with the
// same key gets 422; a retry while the first is still running gets 409.
// The same Idempotency-Key from another API key, even of the same tenant,
// is another record (see idemKeys). Responses with a 5xx status are not
// stored, so the client may retry them.
//
// It must run after RequireScope (Guard.Scope mounts both in order): a
// request that did not pass a scope check is answered 500 and logged, as
// the wiring bug it is, rather than replayed. Requests without the header
// pass through.
func Idempotency(st IdemStore, now func() time.Time, ttl time.Duration, maxBody int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !scopeChecked(r.Context()) {
				Render(w, r, errs.Wrap(errs.Internal, "", "", errors.New("idempotency middleware mounted before RequireScope")))
				return
			}
			key := r.Header.Get(idempotencyHeader)
			if r.Method != http.MethodPost || key == "" {
				next.ServeHTTP(w, r)
				return
			}
			if !validIdemKey(key) {
				Render(w, r, ErrIdemKeyInvalid)
				return
			}
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				Render(w, r, ErrUnauthenticated)
				return
			}
			body, err := ReadBody(r, maxBody)
			if err != nil {
				Render(w, r, err)
				return
			}
			h := sha256.New()
			h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
			h.Write(body)
			t := now()
			name, aead := idemKeys(p, key)
			prev, fresh, err := st.BeginIdempotent(r.Context(), store.IdempotencyRecord{
				TenantID: p.TenantID, Key: name, RequestHash: h.Sum(nil),
				State: store.IdemInProgress, CreatedAt: t, ExpiresAt: t.Add(ttl),
			})
			if err != nil {
				Render(w, r, errs.Wrap(errs.Unavailable, "store_unavailable", "the request could not be recorded, try again later", err))
				return
			}
			if !fresh {
				switch {
				case !bytes.Equal(prev.RequestHash, h.Sum(nil)):
					Render(w, r, ErrIdemKeyReused)
				case prev.State != store.IdemDone:
					Render(w, r, ErrIdemInProgress)
				default:
					body, err := openBody(aead, name, prev.Body)
					if err != nil {
						Render(w, r, errs.Wrap(errs.Internal, "", "", fmt.Errorf("opening a stored response: %w", err)))
						return
					}
					w.Header().Set("Content-Type", prev.ContentType)
					w.Header().Set(idempotentReplayed, "true")
					w.WriteHeader(prev.Status)
					_, _ = w.Write(body)
				}
				return
			}
			r.Body = readCloser{bytes.NewReader(body)}
			bw := &bufferedWriter{header: w.Header()}
			completed := false
			defer func() {
				// A panic or 5xx leaves the key free for a retry.
				if !completed {
					_ = st.AbandonIdempotent(context.WithoutCancel(r.Context()), p.TenantID, name)
				}
			}()
			next.ServeHTTP(bw, r)
			if bw.status == 0 {
				bw.status = http.StatusOK
			}
			if bw.status < 500 {
				sealed := sealBody(aead, name, bw.body.Bytes())
				if err := st.CompleteIdempotent(r.Context(), p.TenantID, name, bw.status, w.Header().Get("Content-Type"), sealed); err != nil {
					Logger(r.Context()).Error("storing idempotent response", "request_id", RequestID(r.Context()), "error", err.Error())
				} else {
					completed = true
				}
			}
			w.WriteHeader(bw.status)
			_, _ = w.Write(bw.body.Bytes())
		})
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
