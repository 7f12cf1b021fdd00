package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// rogueVerifier serves one signed request object and records what the
// wallet posts back: a verifier that asks what it likes.
type rogueVerifier struct {
	srv   *httptest.Server
	mu    sync.Mutex
	token string
	got   []url.Values
}

func newRogueVerifier(t *testing.T) *rogueVerifier {
	v := &rogueVerifier{}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		switch r.URL.Path {
		case "/request":
			w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
			_, _ = io.WriteString(w, v.token)
		case "/response":
			b, _ := io.ReadAll(r.Body)
			f, _ := url.ParseQuery(string(b))
			v.got = append(v.got, f)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(v.srv.Close)
	return v
}

// sign makes the request object: signer signs as kid for client_id did,
// asking dcqlJSON; edit changes the request before signing.
func (v *rogueVerifier) sign(t *testing.T, signer keys.Signer, kid, clientDID, dcqlJSON string, edit func(*oid4vp.Request)) string {
	t.Helper()
	now := time.Now()
	r := &oid4vp.Request{ClientID: oid4vp.ClientIDPrefixDID + clientDID, ResponseMode: oid4vp.DirectPost, ResponseURI: v.srv.URL + "/response",
		Nonce: oid4vp.NewNonce(), State: "state-1", DCQLJSON: []byte(dcqlJSON), IssuedAt: now, ExpiresAt: now.Add(time.Minute),
		Metadata: oid4vp.ClientMetadata{VPFormatsSupported: map[string]oid4vp.FormatParams{oid4vp.FormatSDJWTVC: {SDJWTAlgs: []string{"ES256"}, KBJWTAlgs: []string{"ES256", "EdDSA"}}}}}
	q, err := dcql.Parse([]byte(dcqlJSON))
	require.NoError(t, err)
	r.DCQL = q
	if edit != nil {
		edit(r)
	}
	tok, err := oid4vp.SignRequest(signer, kid, r)
	require.NoError(t, err)
	v.mu.Lock()
	v.token, v.got = tok, nil
	v.mu.Unlock()
	return oid4vp.AuthorizationURI(oid4vp.SchemeOpenID4VP, r.ClientID, v.srv.URL+"/request", oid4vp.MethodGet)
}

func (v *rogueVerifier) received() []url.Values {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]url.Values(nil), v.got...)
}

// venueKey opens `ssi dev`'s seeded venue key: the registered verifier's.
func venueKey(t testing.TB, dir string) (keys.Signer, string, string) {
	t.Helper()
	kb, err := os.ReadFile(filepath.Join(dir, "kek"))
	require.NoError(t, err)
	kek, err := keys.ParseKEK(string(kb))
	require.NoError(t, err)
	blob, err := os.ReadFile(filepath.Join(dir, "keys", "venue-verifier.key"))
	require.NoError(t, err)
	k, err := keys.Open(blob, kek)
	require.NoError(t, err)
	d, err := did.KeyDID(k.Public())
	require.NoError(t, err)
	return k, d, d + "#" + strings.TrimPrefix(d, "did:key:")
}

func passQuery(claims ...string) string {
	var cs []string
	for _, c := range claims {
		cs = append(cs, `{"path":["`+c+`"]}`)
	}
	return `{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["` + VaccinationVCT + `"]},"claims":[` + strings.Join(cs, ",") + `]}]}`
}

type consentDoc struct {
	ID         string
	Status     string
	Reason     string
	OverAsking []string `json:"over_asking"`
	Verifier   struct{ DID, Name, Purpose string }
	Queries    []struct {
		ID         string
		Claims     []string
		Candidates []struct {
			CredentialID string `json:"credential_id"`
			Discloses    []string
		}
	}
}

type historyDoc struct {
	History []struct {
		Verifier, Outcome string
		VerifierName      string `json:"verifier_name"`
		CredentialID      string `json:"credential_id"`
		Claims            []string
	}
}

// TestHolderRefusesOverAsking is acceptance 2: the registered venue asks
// for a claim its registration does not allow; the wallet refuses with
// over_asking and names the claim, the verifier receives an
// access_denied error response and no claim, and the history records
// the refusal. Then the forged requests of acceptance 3, each refused
// with its code, nothing sent.
func TestHolderRefusesOverAsking(t *testing.T) {
	d := newDevHolder(t)
	ada := d.citizen("ada")
	o := d.offer("citizen-ada")
	code, b := d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 2}, nil)
	require.Equal(t, http.StatusCreated, code, string(b))
	venue, venueDID, venueKid := venueKey(t, d.dir)
	v := newRogueVerifier(t)

	uri := v.sign(t, venue, venueKid, venueDID, passQuery("vaccinated_within_policy", "vaccinations"), nil)
	var c consentDoc
	code, b = d.call(http.MethodPost, "/wallet/v1/presentations", ada, map[string]any{"authorization_request_uri": uri}, &c)
	require.Equal(t, http.StatusCreated, code, string(b))
	assert.Equal(t, "refused", c.Status)
	assert.Equal(t, "over_asking", c.Reason)
	assert.Equal(t, []string{"vaccinations"}, c.OverAsking, "the claim over the line")
	assert.Equal(t, venueDID, c.Verifier.DID)
	got := v.received()
	require.Len(t, got, 1, "the verifier is told")
	assert.Equal(t, "access_denied", got[0].Get("error"))
	assert.Equal(t, "state-1", got[0].Get("state"))
	assert.Empty(t, got[0].Get("vp_token"), "and receives no claim")

	var h historyDoc
	code, _ = d.call(http.MethodGet, "/wallet/v1/history", ada, nil, &h)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, h.History, 1)
	assert.Equal(t, "refused_over_asking", h.History[0].Outcome)
	assert.Equal(t, venueDID, h.History[0].Verifier)
	assert.ElementsMatch(t, []string{"vaccinated_within_policy", "vaccinations"}, h.History[0].Claims)
	assert.NotContains(t, string(b), "Lovelace")

	other, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	otherDID, err := did.KeyDID(other.Public())
	require.NoError(t, err)
	otherKid := otherDID + "#" + strings.TrimPrefix(otherDID, "did:key:")
	for _, tc := range []struct {
		name   string
		uri    func() string
		status int
		code   string
	}{
		{"bad signature", func() string {
			// The venue's request with another key's signature.
			v.sign(t, other, otherKid, otherDID, passQuery("vaccinated_within_policy"), nil)
			v.mu.Lock()
			otherTok := v.token
			v.mu.Unlock()
			uri := v.sign(t, venue, venueKid, venueDID, passQuery("vaccinated_within_policy"), nil)
			v.mu.Lock()
			v.token = forgedToken(otherTok, v.token)
			v.mu.Unlock()
			return uri
		}, http.StatusBadRequest, "invalid_request_object"},
		{"client_id prefix mismatch", func() string {
			v.sign(t, venue, venueKid, venueDID, passQuery("vaccinated_within_policy"), nil)
			return oid4vp.AuthorizationURI(oid4vp.SchemeOpenID4VP, "x509_san_dns:venue.example", v.srv.URL+"/request", oid4vp.MethodGet)
		}, http.StatusBadRequest, "invalid_client"},
		{"client_id of another verifier", func() string {
			v.sign(t, venue, venueKid, venueDID, passQuery("vaccinated_within_policy"), nil)
			return oid4vp.AuthorizationURI(oid4vp.SchemeOpenID4VP, oid4vp.ClientIDPrefixDID+otherDID, v.srv.URL+"/request", oid4vp.MethodGet)
		}, http.StatusBadRequest, "invalid_request_object"}, // its kid is not a key of the client's DID
		{"response_uri on another host", func() string {
			return v.sign(t, venue, venueKid, venueDID, passQuery("vaccinated_within_policy"), func(r *oid4vp.Request) {
				r.ResponseURI = "http://attacker.example/response"
			})
		}, http.StatusBadRequest, "response_uri_mismatch"},
		{"transaction_data of a type the wallet does not know", func() string {
			// SignRequest signs the Request's fields only: the claim is
			// added to a request object signed here with the venue's key.
			v.sign(t, venue, venueKid, venueDID, passQuery("vaccinated_within_policy"), nil)
			v.mu.Lock()
			tok := v.token
			v.mu.Unlock()
			j, err := jose.ParseUnverified(tok, 0)
			require.NoError(t, err)
			claims, err := j.Claims()
			require.NoError(t, err)
			claims["transaction_data"] = []any{"eyJ0eXBlIjoicGF5bWVudCJ9"}
			payload, err := json.Marshal(claims)
			require.NoError(t, err)
			signed, err := jose.Sign(venue, map[string]any{"typ": "oauth-authz-req+jwt", "kid": venueKid}, payload)
			require.NoError(t, err)
			v.mu.Lock()
			v.token = signed
			v.mu.Unlock()
			return oid4vp.AuthorizationURI(oid4vp.SchemeOpenID4VP, oid4vp.ClientIDPrefixDID+venueDID, v.srv.URL+"/request", oid4vp.MethodGet)
		}, http.StatusBadRequest, "invalid_transaction_data"},
		{"request_uri on a private address", func() string {
			v.mu.Lock()
			v.got = nil
			v.mu.Unlock()
			return oid4vp.AuthorizationURI(oid4vp.SchemeOpenID4VP, oid4vp.ClientIDPrefixDID+venueDID, "http://10.0.0.1/request", oid4vp.MethodGet)
		}, http.StatusForbidden, "address_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uri := tc.uri()
			code, b := d.call(http.MethodPost, "/wallet/v1/presentations", ada, map[string]any{"authorization_request_uri": uri}, nil)
			assert.Equal(t, tc.status, code, string(b))
			assert.Contains(t, string(b), `"code":"`+tc.code+`"`)
			if tc.code == "invalid_transaction_data" {
				require.Len(t, v.received(), 1, "the verifier is told (§5.1)")
				assert.Equal(t, "invalid_transaction_data", v.received()[0].Get("error"))
				assert.Empty(t, v.received()[0].Get("vp_token"))
				return
			}
			assert.Empty(t, v.received(), "nothing sent to the verifier")
		})
	}

	// An unregistered verifier (a valid request of a DID the registry
	// does not know) is refused as not registered, and told so.
	uri = v.sign(t, other, otherKid, otherDID, passQuery("vaccinated_within_policy"), nil)
	code, b = d.call(http.MethodPost, "/wallet/v1/presentations", ada, map[string]any{"authorization_request_uri": uri}, &c)
	require.Equal(t, http.StatusCreated, code, string(b))
	assert.Equal(t, "refused", c.Status)
	assert.Equal(t, "not_registered", c.Reason)
	require.Len(t, v.received(), 1)
	assert.Equal(t, "access_denied", v.received()[0].Get("error"))
}

// forgedToken puts the signature of sigFrom on the header and payload of
// onto.
func forgedToken(sigFrom, onto string) string {
	return onto[:strings.LastIndex(onto, ".")] + sigFrom[strings.LastIndex(sigFrom, "."):]
}

// TestHolderOfflineQR: the wallet builds the SSI1 envelope of a fresh
// copy for the venue, disclosing only what the venue's registration
// allows, with the offline KB-JWT (aud offline:<venue DID>, a fresh
// wallet nonce, iat now); the history records it; a claim beyond the
// registration is over_asking; another account's credential is 404.
func TestHolderOfflineQR(t *testing.T) {
	d := newDevHolder(t)
	ada := d.citizen("ada")
	c := d.redeemCopies(t, ada, "citizen-ada", 2)
	_, venueDID, _ := venueKey(t, d.dir)
	shown := []string{"vaccinated_within_policy", "given_name", "family_name", "birth_date"}

	var q struct {
		Text, PNG, SVG string
		ExpiresAt      time.Time `json:"expires_at"`
	}
	code, b := d.call(http.MethodPost, "/wallet/v1/credentials/"+c.ID+"/offline-qr", ada, map[string]any{"venue": venueDID, "claims": shown}, &q)
	require.Equal(t, http.StatusCreated, code, string(b))
	require.True(t, strings.HasPrefix(q.Text, qr.Prefix))
	assert.NotEmpty(t, q.PNG)
	assert.True(t, strings.HasPrefix(q.SVG, "<svg") || strings.HasPrefix(q.SVG, "<?xml"))
	pres, err := qr.DecodeEnvelope(q.Text)
	require.NoError(t, err)
	parts, err := sdjwt.Split(pres, 0)
	require.NoError(t, err)
	require.Len(t, parts.Disclosures, 4, "only the claims asked")
	kb, err := jose.ParseUnverified(parts.KBJWT, 0)
	require.NoError(t, err)
	kc, err := kb.Claims()
	require.NoError(t, err)
	assert.Equal(t, "offline:"+venueDID, kc["aud"])
	assert.NotEmpty(t, kc["nonce"])

	// Our verifier's offline check says green.
	var verdict map[string]any
	code, b = d.call(http.MethodPost, "/verifier/v1/offline", d.venue, map[string]string{"qr": q.Text}, &verdict)
	require.Equal(t, http.StatusOK, code, string(b))
	assert.Equal(t, "green", verdict["verdict"], verdict)
	assert.Equal(t, map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01"}, verdict["claims"])

	var h historyDoc
	code, _ = d.call(http.MethodGet, "/wallet/v1/history?channel=offline", ada, nil, &h)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, h.History, 1)
	assert.Equal(t, "offline_qr", h.History[0].Outcome)
	assert.ElementsMatch(t, shown, h.History[0].Claims)

	code, b = d.call(http.MethodPost, "/wallet/v1/credentials/"+c.ID+"/offline-qr", ada, map[string]any{"venue": venueDID, "claims": []string{"vaccinations"}}, nil)
	assert.Equal(t, http.StatusForbidden, code, string(b))
	assert.Contains(t, string(b), `"code":"over_asking"`)

	bob := d.citizen("bob")
	code, _ = d.call(http.MethodPost, "/wallet/v1/credentials/"+c.ID+"/offline-qr", bob, map[string]any{"venue": venueDID, "claims": []string{"vaccinated_within_policy"}}, nil)
	assert.Equal(t, http.StatusNotFound, code)

	// A device-key credential: the phone signs the offline KB-JWT.
	ph := newPhone(t, 1)
	dc := d.receive(t, ada, "citizen-ada-device", ph)
	var p struct {
		ID     string
		ToSign []toSign `json:"to_sign"`
	}
	code, b = d.call(http.MethodPost, "/wallet/v1/credentials/"+dc.ID+"/offline-qr", ada, map[string]any{"venue": venueDID, "claims": shown}, &p)
	require.Equal(t, http.StatusAccepted, code, string(b))
	require.Len(t, p.ToSign, 1)
	code, b = d.call(http.MethodPost, "/wallet/v1/offline-qr/"+p.ID+"/submit", bob, map[string]any{"signature": ph.sign(t, p.ToSign)[0]}, nil)
	assert.Equal(t, http.StatusNotFound, code, "another account's: %s", b)
	code, b = d.call(http.MethodPost, "/wallet/v1/offline-qr/"+p.ID+"/submit", ada, map[string]any{"signature": ph.sign(t, p.ToSign)[0]}, &q)
	require.Equal(t, http.StatusCreated, code, string(b))
	code, b = d.call(http.MethodPost, "/verifier/v1/offline", d.venue, map[string]string{"qr": q.Text}, &verdict)
	require.Equal(t, http.StatusOK, code, string(b))
	assert.Equal(t, "green", verdict["verdict"], verdict)

	// A renewal shows the venue its own copy again: the other copy stays
	// fresh for any other verifier.
	code, _ = d.call(http.MethodPost, "/wallet/v1/credentials/"+c.ID+"/offline-qr", ada, map[string]any{"venue": venueDID, "claims": []string{"vaccinated_within_policy"}}, nil)
	require.Equal(t, http.StatusCreated, code)
	var detail walletCredential
	code, _ = d.call(http.MethodGet, "/wallet/v1/credentials/"+c.ID, ada, nil, &detail)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 1, detail.Unused)
}
