package oid4vp

import (
	"net/url"
	"strings"
)

// Wallet invocation schemes: openid4vp:// (§13.1.2) and HAIP's haip-vp://.
const (
	SchemeOpenID4VP = "openid4vp"
	SchemeHAIP      = "haip-vp"
)

// Request URI methods (§5.10).
const (
	MethodGet  = "get"
	MethodPost = "post"
)

// maxAuthorizationURI caps what ParseAuthorizationURI reads.
const maxAuthorizationURI = 4096

// AuthorizationURI returns the authorization request URI that passes a
// request by reference: scheme://?client_id=…&request_uri=…, and
// request_uri_method=post when method is MethodPost. scheme is
// SchemeOpenID4VP or SchemeHAIP.
func AuthorizationURI(scheme, clientID, requestURI, method string) string {
	q := url.Values{}
	q.Set("client_id", clientID)
	q.Set("request_uri", requestURI)
	if method == MethodPost {
		q.Set("request_uri_method", MethodPost)
	}
	return scheme + "://?" + q.Encode()
}

// AuthorizationRequest is what a wallet reads from an authorization
// request URI.
type AuthorizationRequest struct {
	Scheme     string
	ClientID   string
	RequestURI string
	// Method is MethodGet (also when absent) or MethodPost.
	Method string
}

// ParseAuthorizationURI reads an authorization request URI for a request
// by reference, as a wallet does from a QR code or a link. It refuses
// (invalid_request) another scheme, a URI over 4 KiB, a missing or
// repeated client_id or request_uri, a request_uri that is not an
// absolute http(s) URL, and request parameters passed by value
// (request, dcql_query, presentation_definition); a request_uri_method
// other than get or post is invalid_request_uri_method; a client_id
// without the decentralized_identifier prefix is invalid_client.
func ParseAuthorizationURI(s string) (*AuthorizationRequest, error) {
	if len(s) > maxAuthorizationURI {
		return nil, invalidRequest("the authorization request URI is too long")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != SchemeOpenID4VP && scheme != SchemeHAIP) {
		return nil, invalidRequest("the authorization request URI has an unknown scheme")
	}
	_, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, invalidRequest("the authorization request URI's query is malformed")
	}
	for _, byValue := range []string{"request", "dcql_query", "presentation_definition", "scope"} {
		if q.Has(byValue) {
			return nil, invalidRequest("only requests by reference (request_uri) are supported")
		}
	}
	one := func(name string) (string, error) {
		v := q[name]
		if len(v) != 1 || v[0] == "" {
			return "", invalidRequest(name + " must appear exactly once")
		}
		return v[0], nil
	}
	a := &AuthorizationRequest{Scheme: scheme, Method: MethodGet}
	if a.ClientID, err = one("client_id"); err != nil {
		return nil, err
	}
	if _, err := ClientDID(a.ClientID); err != nil {
		return nil, err
	}
	if a.RequestURI, err = one("request_uri"); err != nil {
		return nil, err
	}
	u, err := url.Parse(a.RequestURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, invalidRequest("request_uri must be an absolute http(s) URL")
	}
	if m, ok := q["request_uri_method"]; ok {
		if len(m) != 1 || (m[0] != MethodGet && m[0] != MethodPost) {
			return nil, ErrInvalidRequestURIMethod
		}
		a.Method = m[0]
	}
	return a, nil
}
