package holder

import "github.com/go-chi/chi/v5"

// walletRoutes mounts the per-account wallet routes (credentials, offers).
func (h handlers) walletRoutes(r chi.Router) {}
