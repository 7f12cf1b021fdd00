package oid4vci

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

const goodOffer = `{"credential_issuer":"https://issuer.example/issuers/health","credential_configuration_ids":["vaccination-pass"],
"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"abc","tx_code":{"length":6}}}}`

func TestParseOffer(t *testing.T) {
	o, err := ParseOffer([]byte(goodOffer))
	require.NoError(t, err)
	assert.Equal(t, "https://issuer.example/issuers/health", o.CredentialIssuer)
	assert.Equal(t, []string{"vaccination-pass"}, o.ConfigIDs)
	assert.Equal(t, "abc", o.PreAuthCode)
	require.NotNil(t, o.TxCode)
	assert.Equal(t, TxCode{InputMode: "numeric", Length: 6}, *o.TxCode, "numeric is the default input mode")

	bad := map[string]string{
		"not JSON":           `{`,
		"array":              `[]`,
		"no issuer":          `{"credential_configuration_ids":["a"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"c"}}}`,
		"relative issuer":    strings.Replace(goodOffer, "https://issuer.example/issuers/health", "/issuers/health", 1),
		"issuer with query":  strings.Replace(goodOffer, "issuers/health", "issuers/health?x=1", 1),
		"issuer userinfo":    strings.Replace(goodOffer, "https://issuer.example", "https://u:p@issuer.example", 1),
		"ftp issuer":         strings.Replace(goodOffer, "https://", "ftp://", 1),
		"no configs":         strings.Replace(goodOffer, `["vaccination-pass"]`, `[]`, 1),
		"repeated config":    strings.Replace(goodOffer, `["vaccination-pass"]`, `["a","a"]`, 1),
		"empty config":       strings.Replace(goodOffer, `["vaccination-pass"]`, `[""]`, 1),
		"config not string":  strings.Replace(goodOffer, `["vaccination-pass"]`, `[1]`, 1),
		"auth code only":     strings.Replace(goodOffer, "urn:ietf:params:oauth:grant-type:pre-authorized_code", "authorization_code", 1),
		"code missing":       strings.Replace(goodOffer, `"pre-authorized_code":"abc",`, ``, 1),
		"code empty":         strings.Replace(goodOffer, `"pre-authorized_code":"abc"`, `"pre-authorized_code":""`, 1),
		"code number":        strings.Replace(goodOffer, `"pre-authorized_code":"abc"`, `"pre-authorized_code":5`, 1),
		"tx_code mode":       strings.Replace(goodOffer, `{"length":6}`, `{"input_mode":"emoji"}`, 1),
		"tx_code negative":   strings.Replace(goodOffer, `{"length":6}`, `{"length":-1}`, 1),
		"tx_code not object": strings.Replace(goodOffer, `{"length":6}`, `"6"`, 1),
		"tx_code long text":  strings.Replace(goodOffer, `{"length":6}`, `{"description":"`+strings.Repeat("x", 301)+`"}`, 1),
		"huge":               `{"x":"` + strings.Repeat("x", MaxOffer) + `"}`,
		"bad AS":             strings.Replace(goodOffer, `"pre-authorized_code":"abc"`, `"pre-authorized_code":"abc","authorization_server":"nope"`, 1),
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseOffer([]byte(in))
			require.Error(t, err)
			assert.Equal(t, "invalid_credential_offer", errs.CodeOf(err))
		})
	}
}

func TestParseOfferURI(t *testing.T) {
	byValue := "openid-credential-offer://?credential_offer=" + url.QueryEscape(goodOffer)
	ref, err := ParseOfferURI(byValue)
	require.NoError(t, err)
	require.NotNil(t, ref.Offer)
	assert.Empty(t, ref.URI)

	ref, err = ParseOfferURI("haip://?credential_offer_uri=" + url.QueryEscape("https://issuer.example/offers/1"))
	require.NoError(t, err)
	assert.Nil(t, ref.Offer)
	assert.Equal(t, "https://issuer.example/offers/1", ref.URI)

	for name, in := range map[string]string{
		"scheme":          "mailto:?credential_offer_uri=https://x.example/o",
		"both":            byValue + "&credential_offer_uri=https%3A%2F%2Fx.example%2Fo",
		"neither":         "openid-credential-offer://?x=1",
		"twice":           "openid-credential-offer://?credential_offer_uri=https://a.example/o&credential_offer_uri=https://b.example/o",
		"relative ref":    "openid-credential-offer://?credential_offer_uri=/o",
		"file ref":        "openid-credential-offer://?credential_offer_uri=file:///etc/passwd",
		"userinfo ref":    "openid-credential-offer://?credential_offer_uri=https://u@x.example/o",
		"bad query":       "openid-credential-offer://?credential_offer=%zz",
		"bad value offer": "openid-credential-offer://?credential_offer=%7B%7D",
		"too long":        "openid-credential-offer://?credential_offer_uri=https://x.example/" + strings.Repeat("a", MaxOfferURI),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseOfferURI(in)
			require.Error(t, err)
			assert.Equal(t, "invalid_credential_offer", errs.CodeOf(err))
		})
	}
}

func TestWellKnown(t *testing.T) {
	assert.Equal(t, "https://issuer.example/.well-known/openid-credential-issuer/tenant",
		wellKnown("https://issuer.example/tenant", "openid-credential-issuer"), "§12.2.2: between host and path")
	assert.Equal(t, "https://t.issuer.example/.well-known/oauth-authorization-server",
		wellKnown("https://t.issuer.example", "oauth-authorization-server"))
}
