package holder

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/httpx"
)

// walletRoutes mounts the per-account wallet routes.
func (h handlers) walletRoutes(r chi.Router) {
	r.Post("/offers", httpx.H(h.receive))
	r.Post("/offers/{id}/submit", httpx.H(h.submitReceive))
	r.Get("/credentials", httpx.H(h.credentials))
	r.Get("/credentials/{id}", httpx.H(h.credential))
	r.Delete("/credentials/{id}", httpx.H(h.deleteCredential))
}

func (h handlers) receive(w http.ResponseWriter, r *http.Request) error {
	var req ReceiveRequest
	if err := httpx.DecodeJSON(r, &req, MaxBody); err != nil {
		return err
	}
	c, p, err := h.s.Receive(r.Context(), accountFrom(r.Context()), req)
	if err != nil {
		return err
	}
	if p != nil {
		return httpx.JSON(w, http.StatusAccepted, p)
	}
	return httpx.JSON(w, http.StatusCreated, c)
}

func (h handlers) submitReceive(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Signatures []string `json:"signatures"`
	}
	if err := httpx.DecodeJSON(r, &req, MaxBody); err != nil {
		return err
	}
	c, err := h.s.SubmitReceive(r.Context(), accountFrom(r.Context()), chi.URLParam(r, "id"), req.Signatures)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, c)
}

func (h handlers) credentials(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.s.Credentials(r.Context(), accountFrom(r.Context()))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"credentials": cs})
}

func (h handlers) credential(w http.ResponseWriter, r *http.Request) error {
	c, err := h.s.Credential(r.Context(), accountFrom(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, c)
}

func (h handlers) deleteCredential(w http.ResponseWriter, r *http.Request) error {
	if err := h.s.DeleteCredential(r.Context(), accountFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
