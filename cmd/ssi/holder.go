package main

import (
	"log/slog"
	"strings"

	"github.com/ssi-project/ssi/holder"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vci"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// newHolder builds the citizen wallet backend. Its trust client reads the
// registry at registryURL and checks every answer against pins. dev lets
// its OpenID4VCI client reach issuers on loopback, over plain HTTP when
// the server itself is (all of `ssi dev` runs there); production refuses
// both. Status lists are not checked until internal/trust's Client has
// its status check (issue 14): credentials then list as status
// "unknown".
func newHolder(cfg config.Server, st *store.Store, kek keys.KEK, pins trust.Trust, registryURL string, dev bool, log *slog.Logger) (*holder.Service, error) {
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	return holder.New(holder.Config{
		Store: st, KEK: kek, Now: clock, Logger: log, TrustedProxies: proxies,
		Trust:  trust.NewClient(registryURL, trust.Options{Trust: pins, Now: clock}),
		Wallet: oid4vci.Options{AllowLoopback: dev, AllowHTTP: dev && !strings.HasPrefix(cfg.PublicURL, "https://")},
	})
}
