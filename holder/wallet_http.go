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
	r.Post("/credentials/{id}/offline-qr", httpx.H(h.offlineQR))
	r.Post("/offline-qr/{id}/submit", httpx.H(h.submitOfflineQR))
	h.presentationRoutes(r)
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

func (h handlers) presentationRoutes(r chi.Router) {
	r.Post("/presentations", httpx.H(h.startPresentation))
	r.Post("/presentations/{id}/accept", httpx.H(h.acceptPresentation))
	r.Post("/presentations/{id}/submit", httpx.H(h.submitPresentation))
	r.Post("/presentations/{id}/decline", httpx.H(h.declinePresentation))
	r.Get("/history", httpx.H(h.history))
	r.Get("/history/export", httpx.H(h.exportHistory))
}

func (h handlers) startPresentation(w http.ResponseWriter, r *http.Request) error {
	var req PresentRequest
	if err := httpx.DecodeJSON(r, &req, MaxBody); err != nil {
		return err
	}
	c, err := h.s.StartPresentation(r.Context(), accountFrom(r.Context()), req)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, c)
}

func (h handlers) acceptPresentation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Choices map[string]string `json:"choices"`
	}
	if err := httpx.DecodeJSON(r, &req, MaxBody); err != nil {
		return err
	}
	out, err := h.s.AcceptPresentation(r.Context(), accountFrom(r.Context()), chi.URLParam(r, "id"), req.Choices)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if out.Status == "prepared" {
		status = http.StatusAccepted
	}
	return httpx.JSON(w, status, out)
}

func (h handlers) submitPresentation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Signatures []string `json:"signatures"`
	}
	if err := httpx.DecodeJSON(r, &req, MaxBody); err != nil {
		return err
	}
	out, err := h.s.SubmitPresentation(r.Context(), accountFrom(r.Context()), chi.URLParam(r, "id"), req.Signatures)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, out)
}

func (h handlers) declinePresentation(w http.ResponseWriter, r *http.Request) error {
	if err := h.s.DeclinePresentation(r.Context(), accountFrom(r.Context()), chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func historyFilter(r *http.Request) HistoryFilter {
	q := r.URL.Query()
	return HistoryFilter{Verifier: q.Get("verifier"), CredentialID: q.Get("credential_id"), Channel: q.Get("channel"), From: q.Get("from"), To: q.Get("to")}
}

func (h handlers) history(w http.ResponseWriter, r *http.Request) error {
	es, err := h.s.History(r.Context(), accountFrom(r.Context()), historyFilter(r))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"history": es})
}

func (h handlers) exportHistory(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return ErrInvalidFilter.With("format is json or csv", nil)
	}
	es, err := h.s.History(r.Context(), accountFrom(r.Context()), historyFilter(r))
	if err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="sharing-history.csv"`)
		return WriteHistoryCSV(w, es)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="sharing-history.json"`)
	return httpx.JSON(w, http.StatusOK, map[string]any{"history": es})
}

func (h handlers) offlineQR(w http.ResponseWriter, r *http.Request) error {
	var req OfflineRequest
	if err := httpx.DecodeJSON(r, &req, MaxBody); err != nil {
		return err
	}
	q, p, err := h.s.OfflineQR(r.Context(), accountFrom(r.Context()), chi.URLParam(r, "id"), req)
	if err != nil {
		return err
	}
	if p != nil {
		return httpx.JSON(w, http.StatusAccepted, p)
	}
	return httpx.JSON(w, http.StatusCreated, q)
}

func (h handlers) submitOfflineQR(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Signature string `json:"signature"`
	}
	if err := httpx.DecodeJSON(r, &req, MaxBody); err != nil {
		return err
	}
	q, err := h.s.SubmitOfflineQR(r.Context(), accountFrom(r.Context()), chi.URLParam(r, "id"), req.Signature)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, q)
}
