package oid4vci

import (
	"net/url"
	"testing"
)

// FuzzParseOfferURI: any input is either refused with a code or parsed
// into exactly one of an offer and a reference, and a parsed offer holds
// what the parser promises.
func FuzzParseOfferURI(f *testing.F) {
	for _, seed := range []string{
		"openid-credential-offer://?credential_offer=" + url.QueryEscape(goodOffer), // by value
		"haip://?credential_offer_uri=https%3A%2F%2Fissuer.example%2Foffers%2F1",    // by reference
		"openid-credential-offer://?credential_offer=%7B%7D",                        // an empty object
		"openid-credential-offer://?credential_offer=%zz",                           // a broken escape
		"https://wallet.example/?credential_offer_uri=https://a&credential_offer=b", // both
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseOfferURI(s)
		if err != nil {
			return
		}
		if (ref.Offer == nil) == (ref.URI == "") {
			t.Fatalf("%q: exactly one of offer and reference must be set: %+v", s, ref)
		}
		if o := ref.Offer; o != nil {
			if o.PreAuthCode == "" || len(o.ConfigIDs) == 0 || len(o.ConfigIDs) > MaxConfigIDs || checkIssuerID(o.CredentialIssuer) != nil {
				t.Fatalf("%q: parsed an offer that breaks the contract: %+v", s, o)
			}
		}
	})
}

// FuzzParseOffer: an offer object is refused or holds what the parser
// promises.
func FuzzParseOffer(f *testing.F) {
	for _, seed := range []string{
		goodOffer, // a whole offer with a tx_code
		`{"credential_issuer":"https://a.example","credential_configuration_ids":["x"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"c"}}}`, // no tx_code
		`{"credential_issuer":"https://a.example","credential_configuration_ids":["x","x"]}`,                                                                                           // repeated ID, no grant
		`null`, `{}`, `[`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOffer(b)
		if err != nil {
			return
		}
		if o.PreAuthCode == "" || len(o.ConfigIDs) == 0 || checkIssuerID(o.CredentialIssuer) != nil {
			t.Fatalf("parsed an offer that breaks the contract: %+v", o)
		}
		if o.TxCode != nil && o.TxCode.InputMode != "numeric" && o.TxCode.InputMode != "text" {
			t.Fatalf("tx_code input mode %q", o.TxCode.InputMode)
		}
	})
}
