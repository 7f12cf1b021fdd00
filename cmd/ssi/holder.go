package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

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
// both. Status comes from the trust client's anchored status lists.
func newHolder(cfg config.Server, st *store.Store, kek keys.KEK, pins trust.Trust, registryURL string, dev bool, log *slog.Logger) (*holder.Service, error) {
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	o := trust.Options{Trust: pins, Now: clock}
	if dev {
		// A demo shows a revocation within a second or two.
		o.TTL = time.Second
	}
	tc := trust.NewClient(registryURL, o)
	status := func(ctx context.Context, issuer, uri string, idx int) (uint8, error) {
		r, err := tc.Status(ctx, issuer, uri, idx)
		return r.Value, err
	}
	return holder.New(holder.Config{
		Store: st, KEK: kek, Now: clock, Logger: log, TrustedProxies: proxies,
		Trust: tc, Status: status,
		Wallet: oid4vci.Options{AllowLoopback: dev, AllowHTTP: dev && !strings.HasPrefix(cfg.PublicURL, "https://")},
	})
}
