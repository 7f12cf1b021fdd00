package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/holder"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vci"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
	"github.com/ssi-project/ssi/internal/trust"
)

// offsetClock is the real time plus a settable offset, or a fixed
// instant once Stop was called: the injected clock of a test wallet (the
// ledger and the issuer keep real time).
type offsetClock struct{ off, stopped atomic.Int64 }

func (c *offsetClock) Now() time.Time {
	if at := c.stopped.Load(); at != 0 {
		return time.Unix(0, at)
	}
	return time.Now().Add(time.Duration(c.off.Load()))
}
func (c *offsetClock) Add(d time.Duration) { c.off.Add(int64(d)) }
func (c *offsetClock) Stop(at time.Time)   { c.stopped.Store(at.UnixNano()) }

// countingTransport counts the status list fetches (GET …/latest under
// /status/) that pass through it.
type countingTransport struct{ lists atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/status/") && strings.HasSuffix(r.URL.Path, "/latest") {
		c.lists.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// clockedWallet is a wallet backend of its own (its store, KEK and
// clocks) served over real HTTP, reading d's registry and ledger and
// receiving from d's issuer: the wallet's clock (expiry) and its trust
// client's clock (status list cache ttl) are injected separately.
type clockedWallet struct {
	*devHolder
	clock, trustClock *offsetClock
	fetches           *countingTransport
	// forced, when not 0, is 1 + the value every status list entry reads
	// (a value our issuer never sets: 3, the issuer's own meaning).
	forced atomic.Int32
}

// trustTTL is the test wallet's trust cache ttl (the issuer's lists say
// 60 s too).
const trustTTL = time.Minute

func newClockedWallet(t *testing.T, d *devHolder, st *store.Store) *clockedWallet {
	t.Helper()
	pins, err := trust.TrustFromGenesis(filepath.Join(d.dir, "ledger", "node0", "config", "genesis.json"))
	require.NoError(t, err)
	w := &clockedWallet{clock: &offsetClock{}, trustClock: &offsetClock{}, fetches: &countingTransport{}}
	// MaxAge is wide: the trust clock runs ahead of the ledger's proofs.
	tc := trust.NewClient(d.url, trust.Options{Trust: pins, Now: w.trustClock.Now, TTL: trustTTL, MaxAge: time.Hour,
		HTTP: &http.Client{Timeout: 10 * time.Second, Transport: w.fetches}})
	kek, err := keys.NewDataKey()
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := holder.New(holder.Config{Store: st, KEK: kek, Now: w.clock.Now, Logger: log, Trust: tc,
		Status: func(ctx context.Context, issuer, uri string, idx int) (uint8, error) {
			if v := w.forced.Load(); v != 0 {
				return uint8(v - 1), nil
			}
			r, err := tc.Status(ctx, issuer, uri, idx)
			return r.Value, err
		},
		Wallet: oid4vci.Options{AllowLoopback: true, AllowHTTP: true}})
	require.NoError(t, err)
	r := chi.NewRouter()
	r.Use(httpx.LimitBody(holder.MaxBody))
	holder.Routes(r, svc)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	wd := *d
	wd.url = srv.URL
	w.devHolder = &wd
	return w
}

// statuses lists tok's credentials: id → status.
func (w *clockedWallet) statuses(t *testing.T, tok string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, c := range w.listed(t, tok) {
		out[id] = c.Status
	}
	return out
}

// TestHolderListShowsStatus: GET /wallet/v1/credentials reports each
// credential's current status, read over real HTTP from our issuer's
// anchored status lists: valid, revoked and suspended (the agency's admin
// API), refreshed (re-issued through a new offer with replaces) and
// expired (the wallet's injected clock at one credential's exp, a second
// before the others'), all in one list. The lists come through the trust
// layer's cache: with its ttl run out, one list call fetches the shared
// status list once for every credential on it, and the next call none.
func TestHolderListShowsStatus(t *testing.T) {
	d := newDevHolder(t)
	for name, open := range map[string]func(*testing.T) *store.Store{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			w := newClockedWallet(t, d, open(t))
			ref := func(s string) string { return name + "-" + s }
			ada := w.citizen("ada")
			ctx := context.Background()

			// The one that will expire is issued first, a second before the rest.
			expiring := w.redeemCopies(t, ada, ref("ada-expiring"), 1)
			var exp struct {
				ExpiresAt time.Time `json:"expires_at"`
			}
			code, b := w.call(http.MethodGet, "/wallet/v1/credentials/"+expiring.ID, ada, nil, &exp)
			require.Equal(t, http.StatusOK, code, string(b))
			require.False(t, exp.ExpiresAt.IsZero())
			for !time.Now().After(exp.ExpiresAt.Add(-365*24*time.Hour + time.Second)) {
				time.Sleep(20 * time.Millisecond) // the next credentials' iat, and so exp, is a later second
			}
			valid := w.redeemCopies(t, ada, ref("ada-valid"), 1)
			revoked := w.redeemCopies(t, ada, ref("ada-revoked"), 1)
			suspended := w.redeemCopies(t, ada, ref("ada-suspended"), 1)
			replaced := w.redeemCopies(t, ada, ref("ada-replaced"), 1)
			o := w.offer(ref("ada-replaced"))
			var renewed walletCredential
			code, b = w.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 1, "replaces": replaced.ID}, &renewed)
			require.Equal(t, http.StatusCreated, code, string(b))
			w.waitValid(t, ada, renewed.ID)

			for ref, action := range map[string]string{ref("ada-revoked"): "revoke", ref("ada-suspended"): "suspend"} {
				recs, err := d.admin.Records(ctx, d.key, ref)
				require.NoError(t, err)
				require.Len(t, recs, 1)
				require.NoError(t, d.admin.SetStatus(ctx, d.key, recs[0].ID, action, "test"))
			}
			want := map[string]string{expiring.ID: "valid", valid.ID: "valid", revoked.ID: "revoked", suspended.ID: "suspended",
				replaced.ID: "refreshed", renewed.ID: "valid"}
			deadline := time.Now().Add(60 * time.Second)
			got := w.statuses(t, ada)
			for !assert.ObjectsAreEqual(want, got) && time.Now().Before(deadline) {
				// The cached list is kept for its ttl: the trust clock runs on past
				// it, and the agency's new list version is anchored meanwhile.
				w.trustClock.Add(trustTTL + time.Second)
				time.Sleep(100 * time.Millisecond) // polling with a deadline
				got = w.statuses(t, ada)
			}
			require.Equal(t, want, got)

			// One fetch per list call, for every credential on the list, and none
			// while the cached list is fresh. Past its ttl the cached list is
			// still read while the one fetch refreshes it in the background.
			w.trustClock.Add(trustTTL + time.Second)
			w.fetches.lists.Store(0)
			assert.Equal(t, want, w.statuses(t, ada))
			for deadline := time.Now().Add(10 * time.Second); w.fetches.lists.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond) // polling with a deadline
			}
			assert.Equal(t, int64(1), w.fetches.lists.Load(), "every credential read on one status list, fetched once")
			assert.Equal(t, want, w.statuses(t, ada))
			assert.Equal(t, int64(1), w.fetches.lists.Load(), "within its ttl the list is not fetched again")

			// The wallet's clock at the first credential's exp: it is expired, the
			// others (a second younger) are not.
			w.clock.Stop(exp.ExpiresAt)
			var s struct{ Token string }
			code, b = w.call(http.MethodPost, "/wallet/v1/sessions", "", map[string]string{"username": "ada", "password": "correct horse battery"}, &s)
			require.Equal(t, http.StatusCreated, code, string(b)) // the session of a year ago has ended
			ada = s.Token
			w.leaks.Secret(ada)
			want[expiring.ID] = "expired"
			assert.Equal(t, want, w.statuses(t, ada))
			var detail walletCredential
			code, _ = w.call(http.MethodGet, "/wallet/v1/credentials/"+expiring.ID, ada, nil, &detail)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, "expired", detail.Status)
		})
	}
}

// TestHolderStatusInvalidNotOffered: a credential whose status list entry
// holds a value the wallet does not know (3: the issuer's own meaning) is
// listed status_invalid and not offered to the venue; read as valid again,
// it is.
func TestHolderStatusInvalidNotOffered(t *testing.T) {
	d := newDevHolder(t)
	w := newClockedWallet(t, d, storetest.SQLite(t))
	ada := w.citizen("ada")
	c := w.redeemCopies(t, ada, "status-3", 1)
	w.waitValid(t, ada, c.ID)
	offered := func() string {
		var tx struct {
			URI string `json:"authorization_request_uri"`
		}
		code, b := d.call(http.MethodPost, "/verifier/v1/presentations", d.venue, map[string]string{"policy": "entry", "response_mode": "direct_post"}, &tx)
		for deadline := time.Now().Add(60 * time.Second); code == http.StatusServiceUnavailable && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond) // polling with a deadline: the verifier checks its registration once it is anchored
			code, b = d.call(http.MethodPost, "/verifier/v1/presentations", d.venue, map[string]string{"policy": "entry", "response_mode": "direct_post"}, &tx)
		}
		require.Equal(t, http.StatusCreated, code, string(b))
		_, b = w.call(http.MethodPost, "/wallet/v1/presentations", ada, map[string]any{"authorization_request_uri": tx.URI}, nil)
		return string(b)
	}
	require.Contains(t, offered(), c.ID, "a valid credential is offered")

	w.forced.Store(3 + 1)
	assert.Equal(t, map[string]string{c.ID: "status_invalid"}, w.statuses(t, ada))
	assert.NotContains(t, offered(), c.ID, "a status_invalid credential is not offered")

	w.forced.Store(0 + 1)
	assert.Equal(t, map[string]string{c.ID: "valid"}, w.statuses(t, ada))
	assert.Contains(t, offered(), c.ID)
}
