package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// phone is a citizen's device keeping its keys.
type phone struct{ keys []keys.Signer }

func newPhone(t *testing.T, n int) *phone {
	p := &phone{}
	for range n {
		k, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		p.keys = append(p.keys, k)
	}
	return p
}

func (p *phone) jwks(t *testing.T) []keys.JWK {
	var out []keys.JWK
	for _, k := range p.keys {
		j, err := jose.PublicJWK(k.Public())
		require.NoError(t, err)
		out = append(out, j)
	}
	return out
}

type toSign struct {
	Key          string
	SigningInput string `json:"signing_input"`
}

// sign signs each input with the key it names, as the secure enclave
// would, and returns the base64url signatures.
func (p *phone) sign(t *testing.T, in []toSign) []string {
	t.Helper()
	var out []string
	for _, s := range in {
		var k keys.Signer
		for _, c := range p.keys {
			if c.KeyID() == s.Key {
				k = c
			}
		}
		require.NotNil(t, k, "the phone has the key")
		h, pl, _ := strings.Cut(s.SigningInput, ".")
		hb, err := base64.RawURLEncoding.DecodeString(h)
		require.NoError(t, err)
		pb, err := base64.RawURLEncoding.DecodeString(pl)
		require.NoError(t, err)
		tok, err := jose.SignEncoded(k, hb, pb)
		require.NoError(t, err)
		out = append(out, tok[strings.LastIndex(tok, ".")+1:])
	}
	return out
}

// redeemCopies redeems a fresh offer into n cloud-key copies and waits
// until its status list is anchored.
func (d *devHolder) redeemCopies(t *testing.T, tok, subjectRef string, n int) walletCredential {
	t.Helper()
	o := d.offer(subjectRef)
	var c walletCredential
	code, b := d.call(http.MethodPost, "/wallet/v1/offers", tok, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": n}, &c)
	require.Equal(t, http.StatusCreated, code, string(b))
	d.waitValid(t, tok, c.ID)
	return c
}

// waitValid polls the credential until the wallet shows it valid.
func (d *devHolder) waitValid(t *testing.T, tok, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var detail walletCredential
		code, b := d.call(http.MethodGet, "/wallet/v1/credentials/"+id, tok, nil, &detail)
		require.Equal(t, http.StatusOK, code, string(b))
		if detail.Status == "valid" {
			return
		}
		require.True(t, time.Now().Before(deadline), "the status list was not anchored in time: %s", detail.Status)
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}

// receive redeems a fresh offer with cloud keys or the phone's, and waits
// until its status list is anchored (the wallet shows it valid): a
// verifier refuses a credential whose list it cannot prove yet
// (status_unavailable).
func (d *devHolder) receive(t *testing.T, tok, subjectRef string, ph *phone) walletCredential {
	t.Helper()
	c := d.redeem(t, tok, subjectRef, ph)
	d.waitValid(t, tok, c.ID)
	return c
}

// redeem redeems a fresh offer with cloud keys or the phone's.
func (d *devHolder) redeem(t *testing.T, tok, subjectRef string, ph *phone) walletCredential {
	t.Helper()
	o := d.offer(subjectRef)
	var c walletCredential
	if ph == nil {
		code, b := d.call(http.MethodPost, "/wallet/v1/offers", tok, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 3}, &c)
		require.Equal(t, http.StatusCreated, code, string(b))
		return c
	}
	var p struct {
		ID     string
		ToSign []toSign `json:"to_sign"`
	}
	code, b := d.call(http.MethodPost, "/wallet/v1/offers", tok, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "key_mode": "device", "device_keys": ph.jwks(t)}, &p)
	require.Equal(t, http.StatusAccepted, code, string(b))
	code, b = d.call(http.MethodPost, "/wallet/v1/offers/"+p.ID+"/submit", tok, map[string]any{"signatures": ph.sign(t, p.ToSign)}, &c)
	require.Equal(t, http.StatusCreated, code, string(b))
	return c
}

// present answers the authorization request uri with credential credID
// for query "pass", through consent and accept (and the phone's
// signatures for device keys), and returns the consent.
func (d *devHolder) present(t *testing.T, tok, uri, credID string, ph *phone) consentDoc {
	t.Helper()
	var c consentDoc
	code, b := d.call(http.MethodPost, "/wallet/v1/presentations", tok, map[string]any{"authorization_request_uri": uri}, &c)
	require.Equal(t, http.StatusCreated, code, string(b))
	require.Equal(t, "pending", c.Status, string(b))
	var sent struct {
		Status string
		ToSign []toSign `json:"to_sign"`
	}
	// A choice that answers nothing is refused, and the consent waits.
	code, b = d.call(http.MethodPost, "/wallet/v1/presentations/"+c.ID+"/accept", tok, map[string]any{"choices": map[string]string{"pass": "not-a-credential"}}, nil)
	require.Equal(t, http.StatusBadRequest, code, string(b))
	require.Contains(t, string(b), `"code":"invalid_choice"`)
	code, b = d.call(http.MethodPost, "/wallet/v1/presentations/"+c.ID+"/accept", tok, map[string]any{"choices": map[string]string{"pass": credID}}, &sent)
	if ph == nil {
		require.Equal(t, http.StatusOK, code, string(b))
		require.Equal(t, "sent", sent.Status)
		return c
	}
	require.Equal(t, http.StatusAccepted, code, string(b))
	require.Len(t, sent.ToSign, 1)
	code, b = d.call(http.MethodPost, "/wallet/v1/presentations/"+c.ID+"/submit", tok, map[string]any{"signatures": ph.sign(t, sent.ToSign)}, &sent)
	require.Equal(t, http.StatusOK, code, string(b))
	require.Equal(t, "sent", sent.Status)
	return c
}

// copyOf is what tells two presented copies apart.
type copyOf struct{ signature, cnf, statusIdx string }

// passPresentation is the one presentation for query "pass" inside a
// direct_post body, split, and the claims of its JWT at part (the issuer's
// JWT, or the KB-JWT).
func passPresentation(t *testing.T, body string, part func(sdjwt.Parts) string) (sdjwt.Parts, jose.Claims) {
	t.Helper()
	f, err := url.ParseQuery(body)
	require.NoError(t, err)
	var vp map[string][]string
	require.NoError(t, json.Unmarshal([]byte(f.Get("vp_token")), &vp), body)
	require.Len(t, vp["pass"], 1)
	p, err := sdjwt.Split(vp["pass"][0], 0)
	require.NoError(t, err)
	require.NotEmpty(t, part(p))
	j, err := jose.ParseUnverified(part(p), 0)
	require.NoError(t, err)
	c, err := j.Claims()
	require.NoError(t, err)
	return p, c
}

// presented reads the copy inside a direct_post body.
func presented(t *testing.T, body string) copyOf {
	t.Helper()
	p, c := passPresentation(t, body, func(p sdjwt.Parts) string { return p.IssuerJWT })
	cnf, _ := json.Marshal(c["cnf"])
	st, _ := json.Marshal(c["status"])
	return copyOf{signature: p.IssuerJWT[strings.LastIndex(p.IssuerJWT, ".")+1:], cnf: string(cnf), statusIdx: string(st)}
}

// TestHolderPresentsToOurVerifier is acceptance 1 over real HTTP, both
// key modes: a citizen account redeems a vaccination pass of 3 copies
// from our issuer, answers our verifier's transaction (direct_post and
// direct_post.jwt), and the verifier says green with exactly the
// policy's claims; every presentation carries another copy (another cnf,
// signature and status index); the history shows each, with claim names
// only.
func TestHolderPresentsToOurVerifier(t *testing.T) {
	h := newHostileIssuer(t) // here an honest proxy that records the responses
	d := newDevHolderBehind(t, h)
	venue := venueClient{base: d.url, key: d.venue}
	for _, mode := range []string{"cloud", "device"} {
		t.Run(mode, func(t *testing.T) {
			tok := d.citizen("ada-" + mode)
			var ph *phone
			if mode == "device" {
				ph = newPhone(t, 3)
			}
			c := d.receive(t, tok, "citizen-ada-"+mode, ph)
			require.Equal(t, 3, c.Copies)
			seen := map[copyOf]bool{}
			for _, rm := range []string{"direct_post", "direct_post.jwt", "direct_post"} {
				before := len(h.bodies("/verifier/v1/responses/"))
				id, uri := venue.create(t, rm)
				consent := d.present(t, tok, uri, c.ID, ph)
				assert.Equal(t, "City Stadium entrance", consent.Verifier.Name)
				assert.NotEmpty(t, consent.Verifier.Purpose)
				v := venue.result(t, id)
				require.Equal(t, "green", v["verdict"], v)
				assert.Equal(t, map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01"}, v["claims"],
					"exactly the policy's shown claims")
				bs := h.bodies("/verifier/v1/responses/")
				require.Len(t, bs, before+1)
				if rm == "direct_post" {
					cp := presented(t, bs[len(bs)-1])
					assert.False(t, seen[cp], "a copy no verifier has seen")
					seen[cp] = true
				}
			}
			var sigs, cnfs, idxs = map[string]bool{}, map[string]bool{}, map[string]bool{}
			for cp := range seen {
				sigs[cp.signature], cnfs[cp.cnf], idxs[cp.statusIdx] = true, true, true
			}
			assert.Len(t, sigs, 2, "two presentations, two signatures")
			assert.Len(t, cnfs, 2, "two holder keys")
			assert.Len(t, idxs, 2, "two status indices")

			var detail walletCredential
			code, _ := d.call(http.MethodGet, "/wallet/v1/credentials/"+c.ID, tok, nil, &detail)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, 0, detail.Unused, "three presentations, three copies")

			// A fourth transaction: no copy is fresh, and none is reused.
			_, uri := venue.create(t, "direct_post")
			var cd consentDoc
			code, b := d.call(http.MethodPost, "/wallet/v1/presentations", tok, map[string]any{"authorization_request_uri": uri}, &cd)
			require.Equal(t, http.StatusCreated, code, string(b))
			require.Len(t, cd.Queries, 1)
			assert.Empty(t, cd.Queries[0].Candidates, "no copy left for another presentation")

			var hist historyDoc
			code, b = d.call(http.MethodGet, "/wallet/v1/history", tok, nil, &hist)
			require.Equal(t, http.StatusOK, code)
			require.Len(t, hist.History, 3)
			for _, e := range hist.History {
				assert.Equal(t, "shared", e.Outcome)
				assert.Equal(t, "City Stadium entrance", e.VerifierName)
				assert.ElementsMatch(t, []string{"vaccinated_within_policy", "given_name", "family_name", "birth_date"}, e.Claims)
			}
			assert.NotContains(t, string(b), "Lovelace", "names, never values")
			code, b = d.call(http.MethodGet, "/wallet/v1/history/export?format=csv", tok, nil, nil)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, 4, strings.Count(string(b), "\n"), "a header and three rows")
		})
	}
}

// registerVerifier registers and approves a new verifier DID for the
// vaccination pass's vaccinated_within_policy over the registry's REST
// API, with its proof of control, and waits until it is anchored.
func (d *devHolder) registerVerifier(t *testing.T, name string) (keys.Signer, string, string) {
	t.Helper()
	seed := readDevSeed(t, d.dir)
	k, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	vd, err := did.KeyDID(k.Public())
	require.NoError(t, err)
	kid := vd + "#" + strings.TrimPrefix(vd, "did:key:")
	var ch didregistry.RPChallenge
	code, body := d.call(http.MethodPost, "/registry/v1/relying-parties/challenges", d.venue, map[string]string{"verifier": vd}, &ch)
	require.Equal(t, http.StatusCreated, code, string(body))
	proof, err := didregistry.SignRPControl(k, kid, ch, time.Now())
	require.NoError(t, err)
	var reg struct{ Record struct{ ID string } }
	code, body = d.call(http.MethodPost, "/registry/v1/relying-parties", d.venue, map[string]any{"verifier": vd, "name": name, "proof": proof,
		"credentials": []map[string]any{{"vct": VaccinationVCT, "claims": []string{"vaccinated_within_policy"}, "purpose": "a second door"}}}, &reg)
	require.Equal(t, http.StatusCreated, code, string(body))
	code, body = d.call(http.MethodPost, "/registry/v1/relying-parties/"+reg.Record.ID+"/approve", seed.APIKeys["registry"], map[string]string{"reason": "test"}, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body = d.call(http.MethodGet, "/registry/v1/relying-parties/"+reg.Record.ID, "", nil, nil)
		require.Equal(t, http.StatusOK, code, string(body))
		if strings.Contains(string(body), `"status":"anchored"`) && strings.Contains(string(body), `"approved"`) {
			return k, vd, kid
		}
		require.True(t, time.Now().Before(deadline), "the registration was not anchored in time: %s", body)
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}

// TestHolderSecondVerifierGetsAnotherCopy is acceptance 1's second half:
// after our venue, a second registered verifier receives a different copy
// (another cnf, signature and status index), and the history shows both
// verifiers with claim names only.
func TestHolderSecondVerifierGetsAnotherCopy(t *testing.T) {
	h := newHostileIssuer(t) // an honest proxy that records the responses
	d := newDevHolderBehind(t, h)
	tok := d.citizen("ada")
	c := d.receive(t, tok, "citizen-ada", nil)
	venue := venueClient{base: d.url, key: d.venue}
	id, uri := venue.create(t, "direct_post")
	d.present(t, tok, uri, c.ID, nil)
	require.Equal(t, "green", venue.result(t, id)["verdict"])
	bs := h.bodies("/verifier/v1/responses/")
	require.Len(t, bs, 1)
	first := presented(t, bs[0])

	k, vd, kid := d.registerVerifier(t, "Second Door")
	v := newRogueVerifier(t)
	uri = v.sign(t, k, kid, vd, passQuery("vaccinated_within_policy"), nil)
	consent := d.present(t, tok, uri, c.ID, nil)
	assert.Equal(t, "Second Door", consent.Verifier.Name)
	got := v.received()
	require.Len(t, got, 1)
	second := presented(t, got[0].Encode())
	assert.NotEqual(t, first.signature, second.signature, "another issuer signature")
	assert.NotEqual(t, first.cnf, second.cnf, "another holder key")
	assert.NotEqual(t, first.statusIdx, second.statusIdx, "another status index")

	var hist historyDoc
	code, b := d.call(http.MethodGet, "/wallet/v1/history", tok, nil, &hist)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, hist.History, 2)
	assert.Equal(t, vd, hist.History[0].Verifier, "newest first")
	assert.Equal(t, "Second Door", hist.History[0].VerifierName)
	assert.Equal(t, []string{"vaccinated_within_policy"}, hist.History[0].Claims)
	assert.Equal(t, "City Stadium entrance", hist.History[1].VerifierName)
	assert.NotContains(t, string(b), "Lovelace")
}

// TestHolderConcurrentAccepts: concurrent accepts of one consent spend it
// once; concurrent presentations of one credential never share a copy,
// and when the copies run out the rest are no_fresh_copy, not a reuse.
func TestHolderConcurrentAccepts(t *testing.T) {
	d := newDevHolder(t)
	tok := d.citizen("ada")
	c := d.redeemCopies(t, tok, "citizen-ada", 3)
	lv := newLocalVerifier(t, d.dir)
	lv.keep = true
	consent := func() string {
		uri, err := lv.request()
		require.NoError(t, err)
		var cd consentDoc
		code, b := d.call(http.MethodPost, "/wallet/v1/presentations", tok, map[string]any{"authorization_request_uri": uri}, &cd)
		require.Equal(t, http.StatusCreated, code, string(b))
		return cd.ID
	}
	accept := func(id string) (int, string) {
		var p struct{ Code string }
		code, b := d.call(http.MethodPost, "/wallet/v1/presentations/"+id+"/accept", tok, map[string]any{"choices": map[string]string{"pass": c.ID}}, nil)
		_ = json.Unmarshal(b, &p)
		return code, p.Code
	}

	// One consent, four taps at once.
	one := consent()
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Go(func() { codes[i], _ = accept(one) })
	}
	wg.Wait()
	slices.Sort(codes)
	assert.Equal(t, []int{200, 409, 409, 409}, codes, "spent once")

	// Five consents for the two copies left, accepted at once.
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = consent()
	}
	results := make([]string, len(ids))
	for i, id := range ids {
		wg.Go(func() {
			code, ec := accept(id)
			results[i] = fmt.Sprint(code, " ", ec)
		})
	}
	wg.Wait()
	slices.Sort(results)
	assert.Equal(t, []string{"200 ", "200 ", "409 no_fresh_copy", "409 no_fresh_copy", "409 no_fresh_copy"}, results)
	lv.mu.Lock()
	bodies := append([]string(nil), lv.bodies...)
	lv.mu.Unlock()
	require.Len(t, bodies, 3)
	cnfs := map[string]bool{}
	for _, b := range bodies {
		cnfs[presented(t, b).cnf] = true
	}
	assert.Len(t, cnfs, 3, "three presentations, three copies")
}
