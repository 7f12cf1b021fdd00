package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

// The markers stand for a citizen's claims inside refused requests: a
// word, and digits for where the decoder wants a number.
const (
	logMarker    = "ZeldaSECRETq7"
	logMarkerNum = "4815162342108"
)

// malformedJSON returns JSON bodies that the strict decoder refuses, each
// carrying the markers where a refusal could quote them: in a string
// value, a member name, a number, next to the offending byte.
func malformedJSON() map[string]string {
	m, n := logMarker, logMarkerNum
	deep := strings.Repeat(`{"a":`, 40) + `"` + m + `"` + strings.Repeat(`}`, 40)
	return map[string]string{
		"bad UTF-8 in a value":     "{\"given_name\":\"" + m + "\xff\xfe\"}",
		"bad UTF-8 in a name":      "{\"" + m + "\xc3\x28\":1}",
		"lone surrogate escape":    `{"given_name":"\ud800` + m + `"}`,
		"lone low surrogate":       `{"given_name":"\udc00` + m + `"}`,
		"surrogate in a name":      `{"\ud800` + m + `":1}`,
		"duplicate names":          `{"` + m + `":1,"` + m + `":2}`,
		"too deep":                 deep,
		"unknown field":            `{"` + m + `":"` + m + `"}`,
		"wrong type, string":       `{"scopes":"` + m + `","operation":["` + m + `"],"reason":{"` + m + `":1},"issuer":1,"verifier":[]}`,
		"wrong type, number":       `{"scopes":` + n + `,"operation":` + n + `,"reason":` + n + `,"issuer":` + n + `,"verifier":` + n + `,"subject_ref":` + n + `}`,
		"number out of range":      `{"` + m + `":1e999}`,
		"trailing data":            `{"given_name":"` + m + `"} "` + m + `"`,
		"trailing garbage":         `{"given_name":"` + m + `"}` + m,
		"bad escape":               `{"` + m + `":"\q` + m + `"}`,
		"truncated in a value":     `{"` + m + `":"` + m,
		"truncated after a name":   `{"` + m + `":`,
		"bare word":                `{"` + m + `":` + m + `}`,
		"control byte in a string": "{\"" + m + "\":\"" + m + "\x01\"}",
		"not an object":            `["` + m + `"]`,
	}
}

// b64 is base64url without padding.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// malformedJWTs returns compact JWS strings whose header or payload is
// malformed JSON carrying the markers.
func malformedJWTs() map[string]string {
	out := map[string]string{}
	for name, bad := range malformedJSON() {
		out["header: "+name] = b64(bad) + "." + b64(`{}`) + ".AAAA"
		out["payload: "+name] = b64(`{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":{"kty":"EC"}}`) + "." + b64(bad) + ".AAAA"
	}
	out["not base64"] = logMarker + "." + logMarker + "." + logMarker
	return out
}

// TestDecodeErrorsKeepInputOutOfTheLog is issue 13 fix 3: every refusal
// of a malformed body (the strict JSON decoder, the form parser, the JWS
// and DID operation parsers behind them) is logged by kind, code and
// offset, never with a snippet of the input. A given_name of
// "\ud800Zelda…" used to leave `\ud800ZeldaS` in the log.
func TestDecodeErrorsKeepInputOutOfTheLog(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		var logs safeBuffer
		e := newTestEnvWith(t, st, testAppOpts{agency: true, log: &logs})
		eps := e.bodyEndpoints(t)
		sent := 0
		send := func(ep bodyEndpoint, body string, hdr ...string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+ep.path, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", ep.media)
			if ep.auth != "" {
				req.Header.Set("Authorization", "Bearer "+ep.auth)
			}
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := e.client.Do(req)
			require.NoError(t, err)
			readAll(t, resp)
			assert.GreaterOrEqual(t, resp.StatusCode, 400, "%s: a malformed body is refused", ep.path)
			assert.Less(t, resp.StatusCode, 500, "%s: a malformed body is the client's error", ep.path)
			sent++
		}
		jsonBodies := malformedJSON()
		for _, ep := range eps {
			switch {
			case ep.media == "application/json":
				for _, body := range jsonBodies {
					send(ep, body)
				}
			default: // the token form
				for _, form := range []string{
					"tx_code=" + logMarker + "%zz",
					"pre-authorized_code=%" + logMarker,
					"grant_type=" + logMarker + "&grant_type=" + logMarker,
					"grant_type=" + url.QueryEscape(logMarker),
					"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=" + logMarker + "&tx_code=" + logMarkerNum,
					"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=" + logMarker + "&authorization_details=" + logMarker,
				} {
					send(ep, form)
				}
				for _, jwt := range malformedJWTs() {
					send(ep, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=x", "DPoP", jwt)
				}
			}
		}
		// Well-formed bodies whose parts are malformed: a subject that
		// breaks the schema, a key proof, a DID operation.
		byPath := map[string]bodyEndpoint{}
		for _, ep := range eps {
			byPath[ep.path] = ep
		}
		subject := strings.Replace(offerBody("citizen-3", "Ada"), `"given_name"`, `"`+logMarker+`":1,"given_name"`, 1)
		send(byPath["/issuer/v1/offers"], subject)
		for name, body := range jsonBodies {
			if !strings.HasPrefix(body, "{") {
				continue
			}
			send(byPath["/issuer/v1/offers"], `{"credential_configuration_id":"vaccination-pass","subject_ref":"c","subject_data":`+body+`}`+strings.Repeat(" ", len(name)%2))
		}
		for _, jwt := range malformedJWTs() {
			send(byPath["/issuers/health/credential"], `{"credential_configuration_id":"vaccination-pass","proofs":{"jwt":["`+jwt+`"]}}`)
			send(byPath["/registry/v1/dids"], `{"operation":"`+jwt+`"}`)
			send(byPath["/registry/v1/dids/did:psr:x/operations"], `{"operation":"`+jwt+`"}`)
		}
		require.Greater(t, sent, 300)
		require.Contains(t, logs.String(), "request failed", "the refusals were logged")
		for _, m := range []string{logMarker, logMarkerNum, logMarker[:6]} {
			if i := strings.Index(logs.String(), m); i >= 0 {
				start := max(0, strings.LastIndex(logs.String()[:i], "\n"))
				t.Errorf("the log holds input %q: %.400s", m, logs.String()[start:])
			}
		}
	})
}
