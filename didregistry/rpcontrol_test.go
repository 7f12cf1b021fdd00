package didregistry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

const rpVCT = "https://health.example/vaccination"

// rpBody is a registration request of verifier carrying proof ("": none).
func rpBody(verifier, proof string) map[string]any {
	b := map[string]any{
		"verifier": verifier, "name": "City Stadium",
		"credentials": []map[string]any{{"vct": rpVCT, "claims": []string{"vaccinated_within_policy"}, "purpose": "entry check"}},
	}
	if proof != "" {
		b["proof"] = proof
	}
	return b
}

// challenge asks the registry for a control challenge for verifier as
// tenant, over HTTP.
func (e *env) challenge(tenant, verifier string) RPChallenge {
	e.t.Helper()
	code, body, hdr := e.do(http.MethodPost, "/registry/v1/relying-parties/challenges", tenant, map[string]string{"verifier": verifier})
	require.Equal(e.t, http.StatusCreated, code, string(body))
	require.Equal(e.t, "application/json", hdr.Get("Content-Type"))
	var ch RPChallenge
	require.NoError(e.t, json.Unmarshal(body, &ch))
	require.NotEmpty(e.t, ch.Challenge)
	require.Equal(e.t, verifier, ch.Verifier)
	require.Equal(e.t, "https://registry.example", ch.Audience)
	require.True(e.t, ch.ExpiresAt.Equal(e.clock.Now().Add(ChallengeTTL)), "a challenge lives 5 minutes")
	e.leaks.Secret(ch.Challenge) // no error response ever echoes it
	return ch
}

// register posts a registration of verifier with proof as tenant.
func (e *env) register(tenant, verifier, proof string) (int, []byte) {
	e.t.Helper()
	code, body, _ := e.do(http.MethodPost, "/registry/v1/relying-parties", tenant, rpBody(verifier, proof))
	return code, body
}

// rpCounts is what a registration writes: its record versions, the
// anchors queued for them, their audit records; and the challenges left.
type rpCounts struct{ records, anchors, audits, challenges int64 }

func (e *env) rpCounts() rpCounts {
	e.t.Helper()
	ctx := context.Background()
	var c rpCounts
	raw := store.Raw(e.st)
	require.NoError(e.t, raw.QueryRow(ctx, "SELECT COUNT(*) FROM registry_records WHERE kind = $1", []any{KindRPRegistration}, &c.records))
	require.NoError(e.t, raw.QueryRow(ctx, "SELECT COUNT(*) FROM audit WHERE action = $1", []any{"rp.register"}, &c.audits))
	require.NoError(e.t, raw.QueryRow(ctx, "SELECT COUNT(*) FROM single_use WHERE kind = $1", []any{challengeKind}, &c.challenges))
	// Every anchor ever queued for a registration, done or not: an outbox
	// row is marked done, never deleted, so this count only grows.
	require.NoError(e.t, raw.QueryRow(ctx, "SELECT COUNT(*) FROM outbox WHERE topic = $1 AND okey LIKE $2",
		[]any{anchor.Topic, KindRPRegistration + "|%"}, &c.anchors))
	return c
}

// within asks the public trust check whether verifier may request claim.
func (e *env) within(verifier, claim string) RPDecision {
	e.t.Helper()
	q := url.Values{"verifier": {verifier}, "vct": {rpVCT}, "claims": {claim}}
	code, body, _ := e.do(http.MethodGet, "/registry/v1/trust/relying-parties?"+q.Encode(), "", nil)
	require.Equal(e.t, http.StatusOK, code, string(body))
	var d RPDecision
	require.NoError(e.t, json.Unmarshal(body, &d))
	return d
}

// keyDID returns the did:key of s and the DID URL of its one method.
func keyDID(t testing.TB, s keys.Signer) (string, string) {
	t.Helper()
	d, err := did.KeyDID(s.Public())
	require.NoError(t, err)
	return d, d + "#" + strings.TrimPrefix(d, "did:key:")
}

// jwkDID returns the did:jwk of s (with use, when not "") and the DID URL
// of its one method.
func jwkDID(t testing.TB, s keys.Signer, use string) (string, string) {
	t.Helper()
	j, err := keys.JWKFromPublic(s.Public())
	require.NoError(t, err)
	j.Use = use
	b, err := json.Marshal(j)
	require.NoError(t, err)
	d := "did:jwk:" + base64.RawURLEncoding.EncodeToString(b)
	return d, d + "#0"
}

// signControl signs a control proof with a header and payload of our
// choice, for the refusals.
func signControl(t testing.TB, s keys.Signer, header map[string]any, payload map[string]any) string {
	t.Helper()
	b, err := json.Marshal(payload)
	require.NoError(t, err)
	tok, err := jose.Sign(s, header, b)
	require.NoError(t, err)
	return tok
}

// TestRPControlHappyPaths: a venue proves control of its verifier DID of
// each method by signing the registry's challenge with a key of the DID's
// document; the registration records the proof and, once approved,
// counts in the trust check.
func TestRPControlHappyPaths(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		web := newDIDWebServer(t)
		e := newEnvWith(t, st, did.WebOptions{Client: web.srv.Client(), AllowPrivate: true})

		edKey, err := keys.Generate(keys.EdDSA)
		require.NoError(t, err)
		p256 := newSigner(t)
		// Two did:psr DIDs: one proven by its controller key, the other by
		// an authentication key.
		ctl, auth := newSigner(t), newSigner(t)
		psrDID := e.createDID(ctl)
		authVM, err := VMFor("auth-1", auth, PurposeAuthentication)
		require.NoError(t, err)
		psrTok, authDID, err := SignCreate(newSigner(t), "ctl-1", []VMInput{authVM}, nil)
		require.NoError(t, err)
		code, body, _ := e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": psrTok})
		require.Equal(t, http.StatusCreated, code, string(body))
		e.waitAnchored(trust.KindDIDDocument, psrDID, 1)
		e.waitAnchored(trust.KindDIDDocument, authDID, 1)
		webKey := newSigner(t)
		webDID := web.serve(t, webKey, "authentication")

		type tc struct {
			name, verifier, kid string
			signer              keys.Signer
		}
		kd, kkid := keyDID(t, edKey)
		jd, jkid := jwkDID(t, p256, "")
		cases := []tc{
			{"did:key Ed25519", kd, kkid, edKey},
			{"did:jwk P-256", jd, jkid, p256},
			{"did:psr controller key", psrDID, psrDID + "#ctl-1", ctl},
			{"did:psr authentication key", authDID, authDID + "#auth-1", auth},
			{"did:web", webDID, webDID + "#k1", webKey},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				ch := e.challenge("venues", c.verifier)
				proof, err := SignRPControl(c.signer, c.kid, ch, e.clock.Now())
				require.NoError(t, err)
				code, body := e.register("venues", c.verifier, proof)
				require.Equal(t, http.StatusCreated, code, string(body))
				var reg struct{ Record RPRegistration }
				require.NoError(t, json.Unmarshal(body, &reg))
				require.NotNil(t, reg.Record.Control, "the registration records the proof of control")
				assert.Equal(t, "venues", reg.Record.Control.Tenant)
				assert.Equal(t, c.kid, reg.Record.Control.KeyID)
				assert.True(t, reg.Record.Control.ProvenAt.Equal(e.clock.Now()))
				assert.Equal(t, proof, reg.Record.Control.Proof)

				assert.False(t, e.within(c.verifier, "vaccinated_within_policy").Within, "pending allows nothing")
				code, body, _ = e.do(http.MethodPost, "/registry/v1/relying-parties/"+reg.Record.ID+"/approve", "operator", map[string]string{})
				require.Equal(t, http.StatusOK, code, string(body))
				d := e.within(c.verifier, "vaccinated_within_policy")
				assert.True(t, d.Within)
				assert.Equal(t, reg.Record.ID, d.RegistrationID)
				// The approved registration is still the venue's own.
				code, body, _ = e.do(http.MethodGet, "/registry/v1/relying-parties", "venues", nil)
				require.Equal(t, http.StatusOK, code, string(body))
				assert.Contains(t, string(body), `"id":"`+reg.Record.ID+`"`, "the venue lists its approved registration")

				// The proof is in the anchored record, so a reader can
				// check it again.
				subject := "https://registry.example/registry/v1/relying-parties/" + reg.Record.ID
				rc := e.waitAnchored(trust.KindRPRegistration, subject, 1)
				require.NoError(t, trust.VerifyReceipt(rc, e.ledger.Trust))
				v, err := st.GetRecordVersion(context.Background(), KindRPRegistration, reg.Record.ID, 1)
				require.NoError(t, err)
				assert.Equal(t, rc.Entry.SHA256, hashHex(v.Body))
				assert.Contains(t, string(v.Body), `"kid":"`+c.kid+`"`)
			})
		}
		e.t = t
		assert.Zero(t, e.rpCounts().challenges, "every challenge was used up")
	})
}

// didWebServer serves did:web documents over TLS on loopback.
type didWebServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	doc string
}

func newDIDWebServer(t *testing.T) *didWebServer {
	w := &didWebServer{}
	w.srv = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if r.URL.Path != "/.well-known/did.json" || w.doc == "" {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", did.MediaTypeDIDJSON)
		fmt.Fprint(rw, w.doc)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// serve publishes a document with key k as method #k1 in relationship
// rel, and returns the server's did:web.
func (w *didWebServer) serve(t *testing.T, k keys.Signer, rel string) string {
	t.Helper()
	u, err := url.Parse(w.srv.URL)
	require.NoError(t, err)
	d := "did:web:" + strings.ReplaceAll(u.Host, ":", "%3A")
	j, err := keys.JWKFromPublic(k.Public())
	require.NoError(t, err)
	jb, err := json.Marshal(j)
	require.NoError(t, err)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.doc = `{"@context":["https://www.w3.org/ns/did/v1"],"id":"` + d + `","verificationMethod":[{"id":"` + d + `#k1","type":"JsonWebKey2020","controller":"` + d + `","publicKeyJwk":` + string(jb) + `}],"` + rel + `":["` + d + `#k1"]}`
	return d
}

// TestRPControlRefusals is acceptance 3 of issue 14: a registration
// without a control proof, with a proof by a key not in the document, with
// a replayed challenge, and every other broken proof is refused with its
// own code and stores nothing: no record, no anchor, no audit record, and
// the challenge stays (the refusal rolled its consumption back).
func TestRPControlRefusals(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		// All ES256, so that a signature by the wrong key is a signature
		// failure, not an alg mismatch.
		venueKey := newSigner(t)
		verifier, kid := keyDID(t, venueKey)
		other := newSigner(t)
		otherDID, otherKid := keyDID(t, other)

		// The health agency's did:psr, whose keys the venue does not hold,
		// and a did:psr whose only non-controller key is an assertion key.
		healthCtl := newSigner(t)
		healthDID := e.createDID(healthCtl)
		assertKey := newSigner(t)
		vm, err := VMFor("sign-1", assertKey, PurposeAssertionMethod)
		require.NoError(t, err)
		tok, assertDID, err := SignCreate(newSigner(t), "ctl-1", []VMInput{vm}, nil)
		require.NoError(t, err)
		code, body, _ := e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": tok})
		require.Equal(t, http.StatusCreated, code, string(body))
		// A did:psr that is deactivated.
		goneCtl := newSigner(t)
		goneDID := e.createDID(goneCtl)
		deact, err := SignOp(goneCtl, "ctl-1", Operation{Op: "deactivate", DID: goneDID, Version: 2})
		require.NoError(t, err)
		code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+goneDID+"/operations", "health", map[string]string{"operation": deact})
		require.Equal(t, http.StatusOK, code, string(body))
		for _, d := range []string{healthDID, assertDID, goneDID} {
			e.waitAnchored(trust.KindDIDDocument, d, 1)
		}
		e.waitAnchored(trust.KindDIDDocument, goneDID, 2)
		encKey := newSigner(t)
		encDID, encKid := jwkDID(t, encKey, "enc")

		now := e.clock.Now()
		payload := func(ch RPChallenge) map[string]any {
			return map[string]any{"iss": ch.Verifier, "aud": ch.Audience, "nonce": ch.Challenge, "iat": now.Unix()}
		}
		hdr := func(kid string) map[string]any { return map[string]any{"typ": ControlTyp, "kid": kid} }
		with := func(m map[string]any, k string, v any) map[string]any {
			c := map[string]any{}
			for kk, vv := range m {
				c[kk] = vv
			}
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
			return c
		}
		cases := []struct {
			name     string
			verifier string
			// proof makes the proof; it may ask for challenges.
			proof  func(t *testing.T) string
			status int
			code   string
		}{
			{"no proof", verifier, func(*testing.T) string { return "" }, 400, "control_proof_required"},
			{"a challenge never issued", verifier, func(t *testing.T) string {
				ch := RPChallenge{Challenge: "bm90LWlzc3VlZA", Verifier: verifier, Audience: "https://registry.example"}
				return signControl(t, venueKey, hdr(kid), payload(ch))
			}, 400, "unknown_challenge"},
			{"a challenge of another tenant", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), payload(e.challenge("venues2", verifier)))
			}, 403, "challenge_tenant_mismatch"},
			{"a challenge for another DID", verifier, func(t *testing.T) string {
				ch := e.challenge("venues", otherDID)
				ch.Verifier = verifier
				return signControl(t, venueKey, hdr(kid), payload(ch))
			}, 400, "challenge_verifier_mismatch"},
			{"an expired challenge", verifier, func(t *testing.T) string {
				ch := e.challenge("venues", verifier)
				e.clock.Add(ChallengeTTL)
				return signControl(t, venueKey, hdr(kid), with(payload(ch), "iat", e.clock.Now().Unix()))
			}, 400, "challenge_expired"},
			{"a key not in the document", verifier, func(t *testing.T) string {
				return signControl(t, other, hdr(verifier+"#other"), payload(e.challenge("venues", verifier)))
			}, 401, "unknown_key"},
			{"a key of another DID", verifier, func(t *testing.T) string {
				return signControl(t, other, hdr(otherKid), payload(e.challenge("venues", verifier)))
			}, 401, "unknown_key"},
			{"a relative kid", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr("#"+strings.TrimPrefix(verifier, "did:key:")), payload(e.challenge("venues", verifier)))
			}, 401, "unknown_key"},
			{"another key under the document's kid", verifier, func(t *testing.T) string {
				return signControl(t, other, hdr(kid), payload(e.challenge("venues", verifier)))
			}, 401, "invalid_signature"},
			{"a flipped signature bit", verifier, func(t *testing.T) string {
				p := signControl(t, venueKey, hdr(kid), payload(e.challenge("venues", verifier)))
				last := p[len(p)-2]
				flip := byte('A')
				if last == 'A' {
					flip = 'B'
				}
				return p[:len(p)-2] + string(flip) + p[len(p)-1:]
			}, 401, "invalid_signature"},
			{"a wrong typ", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, with(hdr(kid), "typ", OpTyp), payload(e.challenge("venues", verifier)))
			}, 400, "wrong_typ"},
			{"no typ", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, with(hdr(kid), "typ", nil), payload(e.challenge("venues", verifier)))
			}, 400, "wrong_typ"},
			{"a wrong aud", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), with(payload(e.challenge("venues", verifier)), "aud", "https://other.example"))
			}, 401, "invalid_audience"},
			{"an aud array", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), with(payload(e.challenge("venues", verifier)), "aud", []string{"https://registry.example"}))
			}, 401, "invalid_audience"},
			{"a wrong iss", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), with(payload(e.challenge("venues", verifier)), "iss", otherDID))
			}, 400, "control_proof_issuer_mismatch"},
			{"no iss", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), with(payload(e.challenge("venues", verifier)), "iss", nil))
			}, 400, "control_proof_issuer_mismatch"},
			{"no nonce", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), with(payload(e.challenge("venues", verifier)), "nonce", nil))
			}, 400, "invalid_claim"},
			{"an iat 61 s ahead", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), with(payload(e.challenge("venues", verifier)), "iat", now.Unix()+61))
			}, 401, "not_yet_valid"},
			{"an iat over 5 minutes old", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), with(payload(e.challenge("venues", verifier)), "iat", now.Add(-ChallengeTTL-time.Second).Unix()))
			}, 401, "expired"},
			{"no iat", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(kid), with(payload(e.challenge("venues", verifier)), "iat", nil))
			}, 400, "invalid_claim"},
			{"a header key", verifier, func(t *testing.T) string {
				j, err := keys.JWKFromPublic(venueKey.Public())
				require.NoError(t, err)
				return signControl(t, venueKey, with(hdr(kid), "jwk", j), payload(e.challenge("venues", verifier)))
			}, 401, "untrusted_key"},
			{"crit", verifier, func(t *testing.T) string {
				return signControl(t, venueKey, with(with(hdr(kid), "crit", []string{"x"}), "x", 1), payload(e.challenge("venues", verifier)))
			}, 400, "unsupported_crit"},
			{"alg none", verifier, func(t *testing.T) string {
				h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"rp-control+jwt","kid":"` + kid + `"}`))
				p, _ := json.Marshal(payload(e.challenge("venues", verifier)))
				return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
			}, 400, "unsupported_alg"},
			{"garbage", verifier, func(*testing.T) string { return "x.y.z" }, 400, "malformed_jws"},
			{"an assertion key of a did:psr", assertDID, func(t *testing.T) string {
				return signControl(t, assertKey, hdr(assertDID+"#sign-1"), payload(e.challenge("venues", assertDID)))
			}, 403, "wrong_key_purpose"},
			{"an encryption-only did:jwk", encDID, func(t *testing.T) string {
				return signControl(t, encKey, hdr(encKid), payload(e.challenge("venues", encDID)))
			}, 403, "wrong_key_purpose"},
			{"a deactivated did:psr", goneDID, func(t *testing.T) string {
				return signControl(t, goneCtl, hdr(goneDID+"#ctl-1"), payload(e.challenge("venues", goneDID)))
			}, 403, "did_deactivated"},
			// The health agency's DID, registered by the venue: without a
			// proof, with the venue's key under the agency's kid, and with
			// the venue's key under a kid of its own.
			{"the health agency's DID without a proof", healthDID, func(*testing.T) string { return "" }, 400, "control_proof_required"},
			{"the health agency's DID, its kid, the venue's key", healthDID, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(healthDID+"#ctl-1"), payload(e.challenge("venues", healthDID)))
			}, 401, "invalid_signature"},
			{"the health agency's DID, the venue's key and kid", healthDID, func(t *testing.T) string {
				return signControl(t, venueKey, hdr(healthDID+"#venue"), payload(e.challenge("venues", healthDID)))
			}, 401, "unknown_key"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.t = t
				e.clock.Set(now)
				proof := c.proof(t)
				before := e.rpCounts()
				code, body := e.register("venues", c.verifier, proof)
				assert.Equal(t, c.status, code, string(body))
				assert.Equal(t, c.code, problemCode(body))
				after := e.rpCounts()
				assert.Equal(t, before, after, "nothing was stored, and the challenge was not used up")
				assert.Zero(t, after.records)
			})
		}
		e.t = t
		e.clock.Set(now)
		assert.False(t, e.within(healthDID, "vaccinated_within_policy").Within)

		// A refused attempt leaves its challenge usable: the same challenge
		// with a good proof registers once, and replayed is refused.
		ch := e.challenge("venues", verifier)
		code, body = e.register("venues", verifier, signControl(t, other, hdr(kid), payload(ch)))
		require.Equal(t, http.StatusUnauthorized, code, string(body))
		good := signControl(t, venueKey, hdr(kid), payload(ch))
		left := e.rpCounts().challenges
		code, body = e.register("venues", verifier, good)
		require.Equal(t, http.StatusCreated, code, string(body))
		before := e.rpCounts()
		assert.Equal(t, rpCounts{records: 1, anchors: 1, audits: 1, challenges: left - 1}, before, "a registration writes one of each, and uses up its challenge")
		code, body = e.register("venues", verifier, good)
		assert.Equal(t, http.StatusBadRequest, code, string(body))
		assert.Equal(t, "unknown_challenge", problemCode(body), "a replayed challenge")
		assert.Equal(t, before, e.rpCounts(), "the replay stored nothing")
	})
}

// TestRPChallengeIsSingleUse: many registrations racing with one proof
// make exactly one registration; every other is unknown_challenge.
func TestRPChallengeIsSingleUse(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		k := newSigner(t)
		verifier, kid := keyDID(t, k)
		ch := e.challenge("venues", verifier)
		proof, err := SignRPControl(k, kid, ch, e.clock.Now())
		require.NoError(t, err)
		const n = 12
		codes := make(chan string, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, _ := json.Marshal(rpBody(verifier, proof))
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/registry/v1/relying-parties", strings.NewReader(string(b)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+e.keys["venues"])
				resp, err := e.client.Do(req)
				if err != nil {
					codes <- err.Error()
					return
				}
				defer resp.Body.Close()
				var p struct{ Code string }
				_ = json.NewDecoder(resp.Body).Decode(&p)
				codes <- fmt.Sprint(resp.StatusCode, p.Code)
			}()
		}
		wg.Wait()
		close(codes)
		got := map[string]int{}
		for c := range codes {
			got[c]++
		}
		assert.Equal(t, map[string]int{"201": 1, "400unknown_challenge": n - 1}, got)
		assert.EqualValues(t, 1, e.rpCounts().records)
	})
}

// TestCheckRPCountsOnlyProvenRegistrations: a registration stored before
// control proofs existed (no control member) allows nothing, even
// approved, and cannot be approved now; a second tenant that proves
// control of the same DID registers on its own proof.
func TestCheckRPCountsOnlyProvenRegistrations(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	ctx := context.Background()
	k := newSigner(t)
	verifier, kid := keyDID(t, k)

	// Two legacy registrations as the old code stored them: one approved,
	// one pending.
	creds := []RPCredential{{VCT: rpVCT, Claims: []string{"vaccinated_within_policy"}, Purpose: "entry check"}}
	venue := Actor{TenantID: "venues", ID: "legacy"}
	approved := RPRegistration{ID: newRecordID("rp_"), Version: 1, Verifier: verifier, Name: "old", Credentials: creds, Status: RPPending, Tenant: "venues", EffectiveAt: e.clock.Now()}
	require.NoError(t, e.svc.putRecord(ctx, venue, KindRPRegistration, approved.ID, verifier, 1, approved, "rp.register"))
	approved.Version, approved.Status, approved.DecidedBy = 2, RPApproved, "operator"
	require.NoError(t, e.svc.putRecord(ctx, Actor{TenantID: "operator"}, KindRPRegistration, approved.ID, verifier, 2, approved, "rp.approve"))
	pending := RPRegistration{ID: newRecordID("rp_"), Version: 1, Verifier: verifier, Name: "old", Credentials: creds, Status: RPPending, Tenant: "venues", EffectiveAt: e.clock.Now()}
	require.NoError(t, e.svc.putRecord(ctx, venue, KindRPRegistration, pending.ID, verifier, 1, pending, "rp.register"))

	assert.False(t, e.within(verifier, "vaccinated_within_policy").Within, "an approved registration without a control proof allows nothing")
	code, body, _ := e.do(http.MethodPost, "/registry/v1/relying-parties/"+pending.ID+"/approve", "operator", map[string]string{})
	assert.Equal(t, http.StatusBadRequest, code, string(body))
	assert.Equal(t, "control_proof_required", problemCode(body))
	code, body, _ = e.do(http.MethodPost, "/registry/v1/relying-parties/"+pending.ID+"/reject", "operator", map[string]string{"reason": "no proof"})
	assert.Equal(t, http.StatusOK, code, string(body), "an unproven registration can still be rejected")

	// The migration: the venue registers again, with a proof.
	proof, err := SignRPControl(k, kid, e.challenge("venues", verifier), e.clock.Now())
	require.NoError(t, err)
	code, body = e.register("venues", verifier, proof)
	require.Equal(t, http.StatusCreated, code, string(body))
	var reg struct{ Record RPRegistration }
	require.NoError(t, json.Unmarshal(body, &reg))
	code, body, _ = e.do(http.MethodPost, "/registry/v1/relying-parties/"+reg.Record.ID+"/approve", "operator", map[string]string{})
	require.Equal(t, http.StatusOK, code, string(body))
	d := e.within(verifier, "vaccinated_within_policy")
	assert.True(t, d.Within)
	assert.Equal(t, reg.Record.ID, d.RegistrationID)

	// Another tenant that holds the key proves control too and registers
	// on its own proof.
	proof2, err := SignRPControl(k, kid, e.challenge("venues2", verifier), e.clock.Now())
	require.NoError(t, err)
	code, body = e.register("venues2", verifier, proof2)
	require.Equal(t, http.StatusCreated, code, string(body))
	var reg2 struct{ Record RPRegistration }
	require.NoError(t, json.Unmarshal(body, &reg2))
	assert.Equal(t, "venues2", reg2.Record.Control.Tenant)
}

// TestRelyingPartyRegistry walks a registration through approval over
// HTTP: pending allows nothing, a venue cannot approve itself, and an
// approved registration allows exactly its claims.
func TestRelyingPartyRegistry(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	k, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	verifier, kid := keyDID(t, k)
	proof, err := SignRPControl(k, kid, e.challenge("venues", verifier), e.clock.Now())
	require.NoError(t, err)
	code, body := e.register("venues", verifier, proof)
	require.Equal(t, http.StatusCreated, code, string(body))
	var reg struct{ Record RPRegistration }
	require.NoError(t, json.Unmarshal(body, &reg))

	assert.False(t, e.within(verifier, "vaccinated_within_policy").Within, "pending registrations allow nothing")
	code, body, _ = e.do(http.MethodPost, "/registry/v1/relying-parties/"+reg.Record.ID+"/approve", "venues", map[string]string{})
	assert.Equal(t, http.StatusForbidden, code, "a venue operator cannot approve itself")
	assert.Equal(t, "insufficient_scope", problemCode(body))
	code, _, _ = e.do(http.MethodPost, "/registry/v1/relying-parties/"+reg.Record.ID+"/approve", "operator", map[string]string{"reason": "ok"})
	require.Equal(t, http.StatusOK, code)
	d := e.within(verifier, "vaccinated_within_policy")
	assert.True(t, d.Within)
	assert.Equal(t, "entry check", d.Purpose)
	d = e.within(verifier, "vaccinated_within_policy,birth_date")
	assert.False(t, d.Within, "a request beyond the registration is refused")
	assert.Equal(t, []string{"birth_date"}, d.Excess)
	e.waitAnchored(trust.KindRPRegistration, "https://registry.example/registry/v1/relying-parties/"+reg.Record.ID, 2)
}

// pendingAnchor is the ledger with one subject's anchors not signed over
// yet: the failure of a did:psr version still waiting in the outbox.
type pendingAnchor struct {
	Anchor
	subject string
}

func (p pendingAnchor) Get(ctx context.Context, kind, subject string, version uint64) (*trust.Receipt, error) {
	if subject == p.subject {
		return nil, anchor.ErrNotYet
	}
	return p.Anchor.Get(ctx, kind, subject, version)
}

// TestRPControlNeedsAnAnchoredDIDVersion: a did:psr verifier proves
// control only with its current version anchored; until then the
// registration is anchor_pending (503, try again) and stores nothing.
func TestRPControlNeedsAnAnchoredDIDVersion(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	ctl := newSigner(t)
	verifier := e.createDID(ctl)
	e.waitAnchored(trust.KindDIDDocument, verifier, 1)

	svc := New(Config{Store: e.st, Anchor: pendingAnchor{e.ledger.Anchorer, verifier}, PublicURL: "https://registry.example", Now: e.clock.Now})
	r := chi.NewRouter()
	r.Use(httpx.Observe(slog.New(slog.DiscardHandler), nil))
	Routes(r, svc, did.NewRouter(), e.st, 64<<10)
	pending := httptest.NewServer(r)
	t.Cleanup(pending.Close)
	direct := e.srv
	e.srv = pending
	ch := e.challenge("venues", verifier)
	proof, err := SignRPControl(ctl, verifier+"#ctl-1", ch, e.clock.Now())
	require.NoError(t, err)
	before := e.rpCounts()
	code, body := e.register("venues", verifier, proof)
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))
	assert.Equal(t, "anchor_pending", problemCode(body))
	assert.Equal(t, before, e.rpCounts(), "nothing was stored")

	// Once the version is anchored, the same proof registers.
	e.srv = direct
	code, body = e.register("venues", verifier, proof)
	assert.Equal(t, http.StatusCreated, code, string(body))
}
