package oid4vci

import (
	"encoding/json"
	"net/url"
	"unicode/utf8"
)

// PreAuthGrant is the grant type of the pre-authorized code flow.
const PreAuthGrant = "urn:ietf:params:oauth:grant-type:pre-authorized_code"

// Limits of the offer parser.
const (
	// MaxOfferURI bounds an offer URI (a QR code holds less).
	MaxOfferURI = 8 << 10
	// MaxOffer bounds an offer object fetched by reference.
	MaxOffer = 16 << 10
	// MaxConfigIDs bounds credential_configuration_ids.
	MaxConfigIDs = 16
	maxString    = 1024
)

// Offer is a parsed Credential Offer (OpenID4VCI §4.1.1) with a
// pre-authorized code grant, the only grant this client redeems.
type Offer struct {
	CredentialIssuer string
	ConfigIDs        []string
	PreAuthCode      string
	// TxCode describes the transaction code the token request needs; nil
	// when the offer needs none.
	TxCode *TxCode
	// AuthorizationServer is the grant's authorization_server, or "".
	AuthorizationServer string
}

// TxCode is the offer's description of its transaction code.
type TxCode struct {
	InputMode   string `json:"input_mode,omitempty"` // numeric (default) or text
	Length      int    `json:"length,omitempty"`
	Description string `json:"description,omitempty"`
}

// OfferRef is an offer URI split into what it carries: the offer itself
// (by value) or the URL to fetch it from (by reference), never both.
type OfferRef struct {
	Offer *Offer
	URI   string
}

// ParseOfferURI reads an offer URI: openid-credential-offer:// or haip://
// (or an https URL, as a web page hands it) with either credential_offer
// (the JSON object) or credential_offer_uri. It does not fetch anything.
// Errors: ErrInvalidOffer.
func ParseOfferURI(s string) (OfferRef, error) {
	if len(s) > MaxOfferURI {
		return OfferRef{}, ErrInvalidOffer.With("the offer URI is too long", nil)
	}
	u, err := url.Parse(s)
	if err != nil {
		return OfferRef{}, ErrInvalidOffer.With("the offer URI is not a URI", nil)
	}
	switch u.Scheme {
	case "openid-credential-offer", "haip", "https", "http":
	default:
		return OfferRef{}, ErrInvalidOffer.With("the offer URI has an unknown scheme", nil)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return OfferRef{}, ErrInvalidOffer.With("the offer URI's query is malformed", nil)
	}
	byValue, byRef := q["credential_offer"], q["credential_offer_uri"]
	switch {
	case len(byValue)+len(byRef) != 1:
		return OfferRef{}, ErrInvalidOffer.With("the offer URI needs exactly one of credential_offer and credential_offer_uri", nil)
	case len(byValue) == 1:
		o, err := ParseOffer([]byte(byValue[0]))
		if err != nil {
			return OfferRef{}, err
		}
		return OfferRef{Offer: o}, nil
	}
	ref, err := url.Parse(byRef[0])
	if err != nil || !ref.IsAbs() || ref.Host == "" || (ref.Scheme != "https" && ref.Scheme != "http") || ref.User != nil {
		return OfferRef{}, ErrInvalidOffer.With("credential_offer_uri is not an absolute HTTPS URL", nil)
	}
	return OfferRef{URI: ref.String()}, nil
}

// ParseOffer reads a Credential Offer object. It keeps the pre-authorized
// code grant and ignores unknown members (§4.1.1). Errors: ErrInvalidOffer
// for malformed JSON, a credential_issuer that is not an absolute URL
// without query or fragment, no or duplicate or over-long configuration
// IDs, no pre-authorized code grant, or a malformed tx_code.
func ParseOffer(b []byte) (*Offer, error) {
	if len(b) > MaxOffer {
		return nil, ErrInvalidOffer.With("the offer is too large", nil)
	}
	var doc struct {
		CredentialIssuer string                     `json:"credential_issuer"`
		ConfigIDs        []string                   `json:"credential_configuration_ids"`
		Grants           map[string]json.RawMessage `json:"grants"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, ErrInvalidOffer.With("the offer is not a JSON object of the right shape", nil)
	}
	if err := checkIssuerID(doc.CredentialIssuer); err != nil {
		return nil, ErrInvalidOffer.With("credential_issuer is not a valid issuer identifier", err)
	}
	if len(doc.ConfigIDs) == 0 || len(doc.ConfigIDs) > MaxConfigIDs {
		return nil, ErrInvalidOffer.With("credential_configuration_ids must hold 1 to 16 IDs", nil)
	}
	seen := map[string]bool{}
	for _, id := range doc.ConfigIDs {
		if !validString(id) || seen[id] {
			return nil, ErrInvalidOffer.With("credential_configuration_ids holds an empty, over-long or repeated ID", nil)
		}
		seen[id] = true
	}
	raw, ok := doc.Grants[PreAuthGrant]
	if !ok {
		return nil, ErrInvalidOffer.With("the offer has no pre-authorized code grant", nil)
	}
	var g struct {
		Code   *string          `json:"pre-authorized_code"`
		TxCode *json.RawMessage `json:"tx_code"`
		AS     string           `json:"authorization_server"`
	}
	if err := json.Unmarshal(raw, &g); err != nil || g.Code == nil || !validString(*g.Code) {
		return nil, ErrInvalidOffer.With("the pre-authorized code grant is malformed", nil)
	}
	o := &Offer{CredentialIssuer: doc.CredentialIssuer, ConfigIDs: doc.ConfigIDs, PreAuthCode: *g.Code}
	if g.AS != "" {
		if err := checkIssuerID(g.AS); err != nil {
			return nil, ErrInvalidOffer.With("the grant's authorization_server is not a valid identifier", err)
		}
		o.AuthorizationServer = g.AS
	}
	if g.TxCode != nil {
		var tc TxCode
		if err := json.Unmarshal(*g.TxCode, &tc); err != nil {
			return nil, ErrInvalidOffer.With("tx_code is malformed", nil)
		}
		switch {
		case tc.InputMode != "" && tc.InputMode != "numeric" && tc.InputMode != "text",
			tc.Length < 0 || tc.Length > 64,
			utf8.RuneCountInString(tc.Description) > 300, !utf8.ValidString(tc.Description):
			return nil, ErrInvalidOffer.With("tx_code has an unknown input mode, a bad length or a description over 300 characters", nil)
		}
		if tc.InputMode == "" {
			tc.InputMode = "numeric"
		}
		o.TxCode = &tc
	}
	return o, nil
}

// checkIssuerID checks a Credential Issuer or authorization server
// identifier: an absolute http(s) URL with a host and no userinfo, query
// or fragment (§12.2.1). Whether plain HTTP may be used is the client's
// decision, not the parser's.
func checkIssuerID(s string) error {
	if !validString(s) {
		return ErrInvalidOffer.With("the identifier is empty or too long", nil)
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return ErrInvalidOffer.With("the identifier is not an https URL without query or fragment", nil)
	}
	return nil
}

func validString(s string) bool {
	return s != "" && len(s) <= maxString && utf8.ValidString(s)
}
