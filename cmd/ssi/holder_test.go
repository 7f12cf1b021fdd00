package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/holder"
	"github.com/ssi-project/ssi/internal/httpx/httpxtest"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
	"github.com/ssi-project/ssi/issuer/issuertest"
)

// devHolder is a citizen's app and the health agency's admin against one
// `ssi dev`.
type devHolder struct {
	t      testing.TB
	url    string
	dir    string
	admin  *issuertest.Client
	key    string // the health agency's admin API key
	venue  string // the demo venue's API key
	did    string
	client *http.Client
	leaks  *httpxtest.LeakChecker
	// verifier is the verifier's base URL when it is not url's process
	// (TestHolderLoad); empty: url.
	verifier string
	// forwardedFor, when set, is sent as X-Forwarded-For (a holder that
	// trusts loopback as its proxy sees the client there: its login limit
	// is per client).
	forwardedFor string
}

func newDevHolder(t testing.TB, extra ...string) *devHolder {
	t.Helper()
	dir := t.TempDir()
	url, stop := startDev(t, dir, extra...)
	t.Cleanup(stop)
	seed := readDevSeed(t, dir)
	// The seeded DIDs and accreditations are anchored in the first blocks;
	// the holder checks issuers only against anchored records.
	waitAnchoredDID(t, url, seed.DIDs["health"])
	c, lc := httpxtest.NewClient(t)
	return &devHolder{t: t, url: url, dir: dir, admin: &issuertest.Client{HTTP: http.DefaultClient, Base: url},
		key: seed.APIKeys["health"], venue: seed.APIKeys["venue"], did: seed.DIDs["health"], client: c, leaks: lc}
}

// call sends a wallet API request (path, or a full URL) with the session token tok and decodes
// a JSON answer into out (when not nil); it returns the status and body.
func (d *devHolder) call(method, path, tok string, body, out any) (int, []byte) {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		require.NoError(d.t, err)
		rd = bytes.NewReader(j)
	}
	u := path // a full URL: another process (d.verifier)
	if !strings.HasPrefix(path, "http") {
		u = d.url + path
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, rd)
	require.NoError(d.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if d.forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", d.forwardedFor)
	}
	resp, err := d.client.Do(req)
	require.NoError(d.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(d.t, json.Unmarshal(b, out), string(b))
	}
	return resp.StatusCode, b
}

// citizen signs up username and returns a session token.
func (d *devHolder) citizen(username string) string {
	d.t.Helper()
	creds := map[string]string{"username": username, "password": "correct horse battery"}
	code, b := d.call(http.MethodPost, "/wallet/v1/accounts", "", creds, nil)
	require.Equal(d.t, http.StatusCreated, code, string(b))
	var s struct{ Token string }
	code, b = d.call(http.MethodPost, "/wallet/v1/sessions", "", creds, &s)
	require.Equal(d.t, http.StatusCreated, code, string(b))
	d.leaks.Secret(s.Token)
	return s.Token
}

var adaSubject = map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01",
	"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly), "vaccine": "XYZ-1"}}}

// offer creates a vaccination-pass offer for subjectRef.
func (d *devHolder) offer(subjectRef string) *issuertest.Offer {
	d.t.Helper()
	o, err := d.admin.CreateOffer(context.Background(), d.key, "vaccination-pass", subjectRef, adaSubject)
	require.NoError(d.t, err)
	d.leaks.Secret(o.TxCode)
	return o
}

// walletCredential is the part of the holder's credential view the tests read.
type walletCredential struct {
	ID          string
	VCT         string
	Status      string
	Copies      int
	Unused      int    `json:"unused_copies"`
	KeyMode     string `json:"key_mode"`
	Claims      map[string]any
	Disclosable []string
	AlwaysShown []string `json:"always_shown"`
}

// rawRows returns every row of the holder's tables of the dev store as
// SQLite holds them, each column through quote() (a BLOB as X'…' hex).
func rawRows(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "ssi.db"), store.Options{})
	require.NoError(t, err)
	defer st.Close()
	var out strings.Builder
	for _, table := range []string{"holder_accounts", "holder_sessions", "holder_keys", "holder_credentials", "holder_copies", "holder_transactions", "holder_history"} {
		cols, err := store.Raw(st).QueryBytes(ctx, "SELECT CAST(group_concat('quote(' || name || ')', ' || '','' || ') AS BLOB) FROM pragma_table_info('"+table+"')")
		require.NoError(t, err)
		require.NotEmpty(t, cols, table)
		b, err := store.Raw(st).QueryBytes(ctx, "SELECT CAST(COALESCE(group_concat("+string(cols)+", '|'), '') AS BLOB) FROM "+table)
		require.NoError(t, err, table)
		out.WriteString(table + ": " + string(b) + "\n")
	}
	return out.String()
}

// TestHolderReceivesFromOurIssuer: a citizen redeems a vaccination-pass
// offer of `ssi dev`'s issuer into three copies with distinct keys; each
// was checked against the anchored registry (the issuer's did:psr and
// accreditation), the list shows it, the detail decodes its claims, and
// the raw rows hold no claim value, no private key and no token.
// Another account sees none of it.
func TestHolderReceivesFromOurIssuer(t *testing.T) {
	d := newDevHolder(t)
	ada := d.citizen("ada")
	o := d.offer("citizen-ada")
	var c walletCredential
	code, b := d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 3}, &c)
	require.Equal(t, http.StatusCreated, code, string(b))
	assert.Equal(t, VaccinationVCT, c.VCT)
	assert.Equal(t, 3, c.Copies)
	assert.Equal(t, 3, c.Unused)
	assert.Equal(t, "cloud", c.KeyMode)
	assert.Equal(t, "Ada", c.Claims["given_name"])
	assert.Contains(t, c.Disclosable, "given_name")

	var list struct{ Credentials []walletCredential }
	code, _ = d.call(http.MethodGet, "/wallet/v1/credentials", ada, nil, &list)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, list.Credentials, 1)
	assert.Nil(t, list.Credentials[0].Claims, "the list carries no claims")

	// The status is read on the anchored status list: right after
	// issuance the list may not be anchored yet (unknown), then valid.
	assert.Contains(t, []string{"valid", "unknown"}, c.Status)
	var detail walletCredential
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ = d.call(http.MethodGet, "/wallet/v1/credentials/"+c.ID, ada, nil, &detail)
		require.Equal(t, http.StatusOK, code)
		if detail.Status != "unknown" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, "valid", detail.Status)
	assert.Equal(t, "Lovelace", detail.Claims["family_name"])

	// Another account: the credential does not exist for it.
	bob := d.citizen("bob")
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		code, b := d.call(m, "/wallet/v1/credentials/"+c.ID, bob, nil, nil)
		assert.Equal(t, http.StatusNotFound, code, "%s %s", m, b)
	}
	code, _ = d.call(http.MethodGet, "/wallet/v1/credentials", bob, nil, &list)
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, list.Credentials)

	// The same offer cannot be redeemed twice.
	code, b = d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode}, nil)
	assert.Equal(t, http.StatusBadRequest, code, string(b))

	raw := rawRows(t, d.dir)
	require.Contains(t, raw, c.ID, "the walk sees the rows")
	for _, v := range []string{"Ada", "Lovelace", "1990-01-01", "XYZ-1", ada, bob, "correct horse battery"} {
		assert.NotContains(t, raw, v, "a claim value, password or token in clear")
		assert.NotContains(t, strings.ToUpper(raw), strings.ToUpper(hexOf(v)), "in a BLOB in clear")
	}
	assert.NotContains(t, raw, `"d":`, "no private JWK")

	// The agency revokes one copy: the wallet shows the credential revoked
	// once the new list is anchored.
	recs, err := d.admin.Records(context.Background(), d.key, "citizen-ada")
	require.NoError(t, err)
	require.Len(t, recs, 3, "one issuance record per copy")
	require.NoError(t, d.admin.SetStatus(context.Background(), d.key, recs[0].ID, "revoke", "test"))
	deadline = time.Now().Add(30 * time.Second)
	for detail.Status != "revoked" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		code, _ = d.call(http.MethodGet, "/wallet/v1/credentials/"+c.ID, ada, nil, &detail)
		require.Equal(t, http.StatusOK, code)
	}
	assert.Equal(t, "revoked", detail.Status)

	code, _ = d.call(http.MethodDelete, "/wallet/v1/credentials/"+c.ID, ada, nil, nil)
	assert.Equal(t, http.StatusNoContent, code)
	code, _ = d.call(http.MethodGet, "/wallet/v1/credentials/"+c.ID, ada, nil, nil)
	assert.Equal(t, http.StatusNotFound, code)
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(s))
	for i := range len(s) {
		out = append(out, digits[s[i]>>4], digits[s[i]&15])
	}
	return string(out)
}

// newTestHolder is the test app's wallet backend: accounts and
// credentials work; receiving needs the trust layer, which the test app
// (no ledger) has not, and answers trust_check_unavailable.
func newTestHolder(t *testing.T, st *store.Store, log *slog.Logger) *holder.Service {
	t.Helper()
	kek, err := keys.NewDataKey()
	require.NoError(t, err)
	h, err := holder.New(holder.Config{Store: st, KEK: kek, Logger: log})
	require.NoError(t, err)
	return h
}

// TestHolderDeviceKeys: with key_mode device the phone keeps the keys;
// the holder returns the key proofs' signing inputs, takes the
// signatures, refuses a bad one and a second submit, and stores copies
// bound to the device keys with no private key.
func TestHolderDeviceKeys(t *testing.T) {
	d := newDevHolder(t)
	ada := d.citizen("ada")
	var phoneKeys []keys.Signer
	var jwks []keys.JWK
	for range 2 {
		k, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		j, err := jose.PublicJWK(k.Public())
		require.NoError(t, err)
		phoneKeys, jwks = append(phoneKeys, k), append(jwks, j)
	}
	o := d.offer("citizen-ada-device")
	var p struct {
		ID     string
		ToSign []struct {
			Key          string
			Alg          string
			SigningInput string `json:"signing_input"`
		} `json:"to_sign"`
	}
	code, b := d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "key_mode": "device", "device_keys": jwks}, &p)
	require.Equal(t, http.StatusAccepted, code, string(b))
	require.Len(t, p.ToSign, 2)
	sigs := make([]string, 2)
	for i, in := range p.ToSign {
		assert.Equal(t, phoneKeys[i].KeyID(), in.Key)
		h, pl, _ := strings.Cut(in.SigningInput, ".")
		hb, err := base64.RawURLEncoding.DecodeString(h)
		require.NoError(t, err)
		pb, err := base64.RawURLEncoding.DecodeString(pl)
		require.NoError(t, err)
		tok, err := jose.SignEncoded(phoneKeys[i], hb, pb) // what the phone's enclave does
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(tok, in.SigningInput+"."))
		sigs[i] = tok[strings.LastIndex(tok, ".")+1:]
	}
	// Another account cannot submit it.
	bob := d.citizen("bob")
	code, _ = d.call(http.MethodPost, "/wallet/v1/offers/"+p.ID+"/submit", bob, map[string]any{"signatures": sigs}, nil)
	assert.Equal(t, http.StatusNotFound, code)

	var c walletCredential
	code, b = d.call(http.MethodPost, "/wallet/v1/offers/"+p.ID+"/submit", ada, map[string]any{"signatures": sigs}, &c)
	require.Equal(t, http.StatusCreated, code, string(b))
	assert.Equal(t, "device", c.KeyMode)
	assert.Equal(t, 2, c.Copies)
	code, b = d.call(http.MethodPost, "/wallet/v1/offers/"+p.ID+"/submit", ada, map[string]any{"signatures": sigs}, nil)
	assert.Equal(t, http.StatusConflict, code, "a flow runs once: %s", b)

	// A key already bound to a copy is not bound to another.
	o = d.offer("citizen-ada-device-2")
	code, b = d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "key_mode": "device", "device_keys": jwks[:1]}, &p)
	require.Equal(t, http.StatusBadRequest, code, string(b))
	assert.Contains(t, string(b), `"code":"invalid_device_keys"`)

	// A wrong signature is refused before the issuer sees it.
	ph := newPhone(t, 1)
	o = d.offer("citizen-ada-device-3")
	code, b = d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "key_mode": "device", "device_keys": ph.jwks(t)}, &p)
	require.Equal(t, http.StatusAccepted, code, string(b))
	code, b = d.call(http.MethodPost, "/wallet/v1/offers/"+p.ID+"/submit", ada, map[string]any{"signatures": sigs[1:]}, nil)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, string(b), `"code":"invalid_device_signature"`)
	// The receipt waits for good ones.
	code, b = d.call(http.MethodPost, "/wallet/v1/offers/"+p.ID+"/submit", ada, map[string]any{"signatures": ph.sign(t, []toSign{{Key: p.ToSign[0].Key, SigningInput: p.ToSign[0].SigningInput}})}, nil)
	assert.Equal(t, http.StatusCreated, code, string(b))

	raw := rawRows(t, d.dir)
	assert.Contains(t, raw, "'device'")
	assert.NotContains(t, raw, `"d":`, "no private key of any kind")
}

// hostileIssuer is the public face of a `ssi dev` run with its URL as
// --public-url: every request to the server passes through it, and it
// rewrites what the issuer answers. It is a malicious issuer that holds
// real, registry-trusted keys.
type hostileIssuer struct {
	srv    *httptest.Server
	real   atomic.Pointer[string] // the server's listener, once started
	mutate atomic.Pointer[func(path string, body []byte) []byte]
	mu     sync.Mutex
	posted [][2]string // the requests POSTed, in order: path, body
}

// bodies returns what was POSTed to paths starting with prefix.
func (h *hostileIssuer) bodies(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, pb := range h.posted {
		if strings.HasPrefix(pb[0], prefix) {
			out = append(out, pb[1])
		}
	}
	return out
}

func newHostileIssuer(t *testing.T) *hostileIssuer {
	h := &hostileIssuer{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost {
			h.mu.Lock()
			h.posted = append(h.posted, [2]string{r.URL.Path, string(body)})
			h.mu.Unlock()
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, *h.real.Load()+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if m := h.mutate.Load(); m != nil {
			b = (*m)(r.URL.Path, b)
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(b)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// TestHolderRefusesAMaliciousIssuer is acceptance 3's issuer half: each
// lie is refused with its code and nothing is stored.
func TestHolderRefusesAMaliciousIssuer(t *testing.T) {
	h := newHostileIssuer(t)
	// The listener comes up first; the proxy learns it from the banner.
	d := newDevHolderBehind(t, h)
	ada := d.citizen("ada")
	for _, tc := range []struct {
		name, code, reason string
		mutate             func(path string, b []byte) []byte
	}{
		{"signature fails", "credential_refused", "invalid_signature", func(path string, b []byte) []byte {
			if !strings.HasSuffix(path, "/credential") {
				return b
			}
			// Flip one character of the first credential's signature.
			i := bytes.Index(b, []byte("~"))
			b[i-5] = map[byte]byte{'A': 'B'}[b[i-5]] | 'A'
			return b
		}},
		{"oversized credential", "credential_too_large", "", func(path string, b []byte) []byte {
			if !strings.HasSuffix(path, "/credential") {
				return b
			}
			return bytes.Replace(b, []byte(`~"`), []byte("~"+strings.Repeat("A", 300<<10)+`~"`), 1)
		}},
		{"an SD-JWT+KB from the issuer", "credential_refused", "unexpected_key_binding", func(path string, b []byte) []byte {
			if !strings.HasSuffix(path, "/credential") {
				return b
			}
			// A KB-JWT after the first credential's last disclosure.
			return bytes.Replace(b, []byte(`~"`), []byte(`~eyJhbGciOiJFUzI1NiIsInR5cCI6ImtiK2p3dCJ9.eyJub25jZSI6Im4ifQ.c2ln"`), 1)
		}},
		{"a credential of another type than the metadata says", "credential_refused", "vct_mismatch", func(path string, b []byte) []byte {
			return bytes.Replace(b, []byte(`"vct":"`+VaccinationVCT+`"`), []byte(`"vct":"urn:ssi:vct:something-else:1"`), 1)
		}},
		{"batch size of a million", "batch_size_too_large", "", func(path string, b []byte) []byte {
			return bytes.Replace(b, []byte(`"batch_size":10`), []byte(`"batch_size":1000000`), 1)
		}},
		{"credential endpoint on a private address", "address_not_allowed", "", func(path string, b []byte) []byte {
			return bytes.Replace(b, []byte(`"credential_endpoint":"`+h.srv.URL), []byte(`"credential_endpoint":"http://10.0.0.1`), 1)
		}},
		{"metadata on the cloud metadata service", "address_not_allowed", "", func(path string, b []byte) []byte {
			return bytes.Replace(b, []byte(`"credential_issuer":"`+h.srv.URL), []byte(`"credential_issuer":"http://169.254.169.254`), 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := d.offer("citizen-" + strings.ReplaceAll(tc.name, " ", "-"))
			h.mutate.Store(&tc.mutate)
			defer h.mutate.Store(nil)
			require.Contains(t, o.OfferURI, url.QueryEscape(h.srv.URL), "the offer names the hostile face")
			code, b := d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 2}, nil)
			assert.GreaterOrEqual(t, code, 400, string(b))
			assert.Less(t, code, 500, string(b))
			assert.Contains(t, string(b), `"code":"`+tc.code+`"`)
			assert.Contains(t, string(b), tc.reason)
			var list struct{ Credentials []walletCredential }
			code, _ = d.call(http.MethodGet, "/wallet/v1/credentials", ada, nil, &list)
			require.Equal(t, http.StatusOK, code)
			assert.Empty(t, list.Credentials, "nothing stored")
		})
	}
}

// newDevHolderBehind starts `ssi dev` on a free port with h as its public
// URL, so that every client, the holder's own OpenID4VCI client
// included, reaches it through h.
func newDevHolderBehind(t *testing.T, h *hostileIssuer) *devHolder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	real := "http://" + addr
	h.real.Store(&real)
	// A fixed --addr port makes the admin listener default to
	// 127.0.0.1:9090, which another test (or another checkout's) may hold.
	return newDevHolder(t, "--addr", addr, "--admin-addr", "127.0.0.1:0", "--public-url", h.srv.URL)
}

// TestHolderCommand: `ssi holder` checks its configuration: the registry,
// the pinned validators, a KEK and an https public URL are required.
func TestHolderCommand(t *testing.T) {
	dir := t.TempDir()
	_, err := devKEK("", dir)
	require.NoError(t, err)
	kekText, err := os.ReadFile(filepath.Join(dir, "kek"))
	require.NoError(t, err)
	tb, err := trust.MarshalTrust(trust.Trust{ChainID: "test"})
	require.NoError(t, err)
	tf := filepath.Join(dir, "trust.json")
	require.NoError(t, os.WriteFile(tf, tb, 0o600))
	ctx := context.Background()
	var stdout, stderr safeBuffer
	base := []string{"--check-config", "--data", dir, "--registry-url", "https://registry.example", "--trust-file", tf, "--public-url", "https://wallet.example"}
	require.NoError(t, runHolder(ctx, append(base, "--kek", strings.TrimSpace(string(kekText))), &stdout, &stderr))
	assert.Contains(t, stdout.String(), "configuration ok")
	err = runHolder(ctx, []string{"--check-config", "--data", dir, "--kek", strings.TrimSpace(string(kekText))}, &stdout, &stderr)
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), "registry-url")
		assert.Contains(t, err.Error(), "trust-file")
	}
	err = runHolder(ctx, append(base, "--kek", strings.TrimSpace(string(kekText)), "--public-url", "http://wallet.example"), &stdout, &stderr)
	if assert.Error(t, err, "a public wallet over plain http") {
		assert.Contains(t, err.Error(), "public-url: must be https")
	}
	assert.Error(t, runHolder(ctx, append(base, "--trust-file", filepath.Join(dir, "missing.json"), "--kek", strings.TrimSpace(string(kekText))), &stdout, &stderr))
}

// TestDevSeedsADemoCitizen: `ssi dev` seeds a demo citizen whose login is
// in dev-credentials.json, and it logs in.
func TestDevSeedsADemoCitizen(t *testing.T) {
	d := newDevHolder(t)
	seed := readDevSeed(t, d.dir)
	require.Equal(t, "demo-citizen", seed.Citizen["username"])
	assert.NotEmpty(t, seed.APIKeys["health"], "the rest of the seed is kept")
	var s struct{ Token string }
	code, body := d.call(http.MethodPost, "/wallet/v1/sessions", "", map[string]string{"username": "demo-citizen", "password": seed.Citizen["password"]}, &s)
	require.Equal(t, http.StatusCreated, code, string(body))
	d.leaks.Secret(s.Token)
	code, _ = d.call(http.MethodGet, "/wallet/v1/account", s.Token, nil, nil)
	assert.Equal(t, http.StatusOK, code)
}
