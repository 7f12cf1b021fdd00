package holder

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/httpx"
)

// MaxBody bounds a wallet request body.
const MaxBody = 64 << 10

// Routes mounts the wallet API under /wallet/v1 on r. Every route but
// sign-up and login needs a session token (Authorization: Bearer); every
// error is problem+json.
func Routes(r chi.Router, s *Service) {
	h := handlers{s: s}
	r.Route("/wallet/v1", func(r chi.Router) {
		r.Post("/accounts", httpx.H(h.signUp))
		r.Post("/sessions", httpx.H(h.login))
		r.Group(func(r chi.Router) {
			r.Use(h.authenticate)
			r.Get("/account", httpx.H(h.account))
			r.Delete("/sessions/current", httpx.H(h.logout))
			r.Delete("/sessions", httpx.H(h.logoutEverywhere))
			h.walletRoutes(r)
		})
	})
}

type handlers struct{ s *Service }

type accountKey struct{}

// account returns the request's authenticated account.
func accountFrom(ctx context.Context) *Account {
	a, _ := ctx.Value(accountKey{}).(*Account)
	return a
}

func (h handlers) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(name, "Bearer") || tok == "" {
			httpx.Render(w, r, ErrNoSession)
			return
		}
		a, err := h.s.Authenticate(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			httpx.Render(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), accountKey{}, a)))
	})
}

type credentialsBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (h handlers) signUp(w http.ResponseWriter, r *http.Request) error {
	var b credentialsBody
	if err := httpx.DecodeJSON(r, &b, MaxBody); err != nil {
		return err
	}
	a, err := h.s.SignUp(r.Context(), b.Username, b.Password)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, accountJSON(a))
}

func accountJSON(a *Account) map[string]any {
	return map[string]any{"id": a.ID, "username": a.Username, "created_at": a.CreatedAt.UTC().Format(time.RFC3339)}
}

func (h handlers) login(w http.ResponseWriter, r *http.Request) error {
	var b credentialsBody
	if err := httpx.DecodeJSON(r, &b, MaxBody); err != nil {
		return err
	}
	client := httpx.ClientKey(httpx.ClientAddr(r, h.s.cfg.TrustedProxies))
	sess, err := h.s.Login(r.Context(), b.Username, b.Password, client)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, map[string]any{
		"token": sess.Token, "token_type": "Bearer", "expires_at": sess.ExpiresAt.UTC().Format(time.RFC3339)})
}

func (h handlers) account(w http.ResponseWriter, r *http.Request) error {
	return httpx.JSON(w, http.StatusOK, accountJSON(accountFrom(r.Context())))
}

func (h handlers) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.s.Logout(r.Context(), accountFrom(r.Context())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h handlers) logoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.s.LogoutEverywhere(r.Context(), accountFrom(r.Context())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
