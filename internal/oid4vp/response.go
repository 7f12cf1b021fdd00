package oid4vp

import (
	"net/url"
	"strings"

	"github.com/ssi-project/ssi/internal/jose"
)

// maxPresentations caps the presentations in one VP Token before any is
// looked at; the DCQL match applies its own, smaller, limit after.
const maxPresentations = 64

// Response is an authorization response (§8.1): the VP Token, for each
// credential query id its presentations, and the state; or an error
// response (§8.5) with Error set.
type Response struct {
	VPToken          map[string][]string
	State            string
	Error            string
	ErrorDescription string
}

// ResponseForm returns the application/x-www-form-urlencoded body of a
// direct_post response: vp_token (the JSON object) and state.
func ResponseForm(r *Response) (url.Values, error) {
	body, err := r.payload()
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	for k, val := range body {
		v.Set(k, val)
	}
	return v, nil
}

// params is the response parameters: state, and vp_token or error with
// error_description.
func (r *Response) params() map[string]any {
	m := map[string]any{}
	if r.State != "" {
		m["state"] = r.State
	}
	if r.Error == "" {
		m["vp_token"] = r.VPToken
		return m
	}
	m["error"] = r.Error
	if r.ErrorDescription != "" {
		m["error_description"] = r.ErrorDescription
	}
	return m
}

// payload is params as form strings, vp_token as JSON.
func (r *Response) payload() (map[string]string, error) {
	out := map[string]string{}
	for k, v := range r.params() {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, err := marshalJSON(v)
		if err != nil {
			return nil, err
		}
		out[k] = string(b)
	}
	return out, nil
}

// ParseResponseForm reads a direct_post body: either vp_token and state,
// or error (with error_description) and state. Every parameter must
// appear at most once, and a direct_post.jwt body's response parameter
// is refused here (the caller decrypts it with DecryptResponse). The
// vp_token is checked with ParseVPToken.
func ParseResponseForm(form url.Values) (*Response, error) {
	r := &Response{}
	for name, vals := range form {
		if len(vals) != 1 {
			return nil, invalidRequest("a response parameter appears more than once")
		}
		switch name {
		case "vp_token", "state", "error", "error_description":
		case "response":
			return nil, invalidRequest("an encrypted response was sent where a plain one was expected")
		default:
			// §8.1: unknown parameters are ignored, but they are not read.
		}
	}
	r.State = form.Get("state")
	if e := form.Get("error"); e != "" {
		if form.Has("vp_token") {
			return nil, invalidRequest("a response carries both vp_token and error")
		}
		r.Error, r.ErrorDescription = e, form.Get("error_description")
		if len(r.Error) > 64 || len(r.ErrorDescription) > 1024 {
			return nil, invalidRequest("the error response is too long")
		}
		return r, nil
	}
	tok := form.Get("vp_token")
	if tok == "" {
		return nil, invalidRequest("vp_token is required")
	}
	var err error
	if r.VPToken, err = parseVPTokenString(tok); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseVPToken reads a VP Token of a DCQL response (§8.1): a JSON object
// whose members are credential query ids, each a non-empty array of
// presentations, which for dc+sd-jwt are strings. Over MaxResponseSize is
// vp_token_too_large; anything else malformed is invalid_request.
func ParseVPToken(b []byte) (map[string][]string, error) {
	if len(b) > MaxResponseSize {
		return nil, ErrVPTokenTooLarge
	}
	return vpTokenOf(jose.ParseValue(b))
}

// parseVPTokenString is ParseVPToken for a form's vp_token: its
// presentations are substrings of s, not copies.
func parseVPTokenString(s string) (map[string][]string, error) {
	if len(s) > MaxResponseSize {
		return nil, ErrVPTokenTooLarge
	}
	return vpTokenOf(jose.ParseValueString(s))
}

func vpTokenOf(v any, err error) (map[string][]string, error) {
	if err != nil {
		return nil, invalidRequest("vp_token is not JSON").With("", err)
	}
	return vpTokenFrom(v)
}

func vpTokenFrom(v any) (map[string][]string, error) {
	o, ok := v.(map[string]any)
	if !ok || len(o) == 0 {
		return nil, invalidRequest("vp_token must be a non-empty JSON object")
	}
	out := make(map[string][]string, len(o))
	total := 0
	for id, e := range o {
		arr, ok := e.([]any)
		if !ok || len(arr) == 0 {
			return nil, invalidRequest("every vp_token entry must be a non-empty array")
		}
		total += len(arr)
		if total > maxPresentations {
			return nil, invalidRequest("vp_token has too many presentations")
		}
		ps := make([]string, 0, len(arr))
		for _, p := range arr {
			s, ok := p.(string)
			if !ok || s == "" {
				return nil, invalidRequest("a dc+sd-jwt presentation must be a non-empty string")
			}
			ps = append(ps, s)
		}
		out[id] = ps
	}
	return out, nil
}

// ValidState reports whether s can be a state ssi issued: base64url, of
// NewNonce's length.
func ValidState(s string) bool {
	if len(s) != 43 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0
}
