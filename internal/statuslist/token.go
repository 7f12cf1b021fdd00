package statuslist

import (
	stdjson "encoding/json"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// Typ is the JWT type of a Status List Token; MediaType its HTTP media type.
const (
	Typ       = "statuslist+jwt"
	MediaType = "application/statuslist+jwt"
)

// Default bounds for the ttl claim (SECURITY-CASES E53): a list is
// re-fetched at least once a day and at most once a minute, whatever the
// token says.
const (
	DefaultMinTTL = time.Minute
	DefaultMaxTTL = 24 * time.Hour
)

// ErrUnverifiable is every failure to verify a Status List Token: bad
// signature, wrong typ or alg, unknown key, `sub` other than the expected
// uri, expired, malformed claims, or a list that does not decode. The cause
// keeps the precise code (errors.Is(err, jose.ErrExpired),
// errors.Is(err, ErrListTooLarge), …). A verifier that gets it must not
// accept the referenced credential (SECURITY-CASES E50).
var ErrUnverifiable = errs.E(errs.Unauthorized, "status_unverifiable", "the status list could not be verified")

// ErrInvalidToken is returned by Sign for a Token that breaks the draft's
// rules (no sub, no iat, no list, exp before iat, ttl under a second).
var ErrInvalidToken = errs.E(errs.Internal, "invalid_status_token", "the status list token is incomplete")

// Token is the content of a Status List Token (draft-20 §5.1).
type Token struct {
	Subject        string        // sub: the URI the token is served at
	Issuer         string        // iss: optional
	IssuedAt       time.Time     // iat
	ExpiresAt      time.Time     // exp; zero when absent
	TTL            time.Duration // ttl; zero when absent on Sign; always set, clamped, after Verify
	List           *List
	AggregationURI string // status_list.aggregation_uri: optional
}

type wireToken struct {
	Sub        string   `json:"sub"`
	Iss        string   `json:"iss,omitempty"`
	Iat        int64    `json:"iat"`
	Exp        int64    `json:"exp,omitzero"`
	TTL        int64    `json:"ttl,omitzero"`
	StatusList wireList `json:"status_list"`
}

type wireList struct {
	Bits           int    `json:"bits"`
	Lst            string `json:"lst"`
	AggregationURI string `json:"aggregation_uri,omitempty"`
}

// Sign builds and signs a Status List Token with header typ statuslist+jwt
// and kid (the DID URL of the signing key; s.KeyID() when empty). Times are
// written as whole seconds. A Token without Subject, IssuedAt or List, with
// ExpiresAt not after IssuedAt, or with a TTL under one second, is
// ErrInvalidToken.
func Sign(s keys.Signer, kid string, t Token) (string, error) {
	switch {
	case t.Subject == "" || t.IssuedAt.IsZero() || t.List == nil:
		return "", ErrInvalidToken
	case !t.ExpiresAt.IsZero() && !t.ExpiresAt.After(t.IssuedAt):
		return "", ErrInvalidToken.With("exp must be after iat", nil)
	case t.TTL != 0 && t.TTL < time.Second:
		return "", ErrInvalidToken.With("ttl must be at least one second", nil)
	}
	lst, err := t.List.Encode()
	if err != nil {
		return "", err
	}
	w := wireToken{
		Sub: t.Subject, Iss: t.Issuer, Iat: t.IssuedAt.Unix(),
		TTL:        int64(t.TTL / time.Second),
		StatusList: wireList{Bits: t.List.Bits(), Lst: lst, AggregationURI: t.AggregationURI},
	}
	if !t.ExpiresAt.IsZero() {
		w.Exp = t.ExpiresAt.Unix()
	}
	payload, err := json.Marshal(w)
	if err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "encoding the status list token", err)
	}
	if kid == "" {
		kid = s.KeyID()
	}
	tok, err := jose.Sign(s, map[string]any{"typ": Typ, "kid": kid}, payload)
	if err != nil {
		return "", fmt.Errorf("signing the status list token: %w", err)
	}
	return tok, nil
}

// VerifyOptions say what Verify accepts.
type VerifyOptions struct {
	// URI is the `uri` of the credential's status_list claim; the token's
	// `sub` must equal it exactly. Required.
	URI string
	// Key finds the issuer's key for the token (did.JOSEKeyLookup). Required.
	Key jose.KeyLookup
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Skew is the allowed clock skew, clamped to jose.MaxSkew.
	Skew time.Duration
	// RequireExp refuses a token without exp.
	RequireExp bool
	// MinTTL and MaxTTL clamp ttl (defaults DefaultMinTTL, DefaultMaxTTL).
	// A token without ttl gets MaxTTL.
	MinTTL, MaxTTL time.Duration
	// MaxBytes caps the inflated list (DefaultMaxBytes when 0).
	MaxBytes int
	// MaxTokenSize caps the compact JWT (jose.DefaultMaxSize when 0).
	MaxTokenSize int
}

// Verify checks a Status List Token and returns its content. In order: the
// JWS (size, compact form, alg allow-list, crit, typ statuslist+jwt, key
// lookup, signature), `sub` equal to o.URI, iat present and not in the
// future, exp not passed (fail closed), a positive integer ttl, and the
// status_list (bits in {1,2,4,8}, lst decoding within the cap). Every
// failure is ErrUnverifiable wrapping the precise cause. TTL in the result
// is clamped to [MinTTL, MaxTTL].
func Verify(token string, o VerifyOptions) (*Token, error) {
	if o.URI == "" || o.Key == nil {
		return nil, ErrUnverifiable.With("no expected uri or key lookup", nil)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	j, err := jose.Verify(token, jose.VerifyOptions{Typ: []string{Typ}, Key: o.Key, MaxSize: o.MaxTokenSize})
	if err != nil {
		return nil, ErrUnverifiable.With("", err)
	}
	c, err := j.Claims()
	if err != nil {
		return nil, ErrUnverifiable.With("the claims are malformed", err)
	}
	t := &Token{}
	var ok bool
	if t.Subject, ok, err = c.String("sub"); err != nil || !ok || t.Subject != o.URI {
		return nil, ErrUnverifiable.With("sub is not the status list uri", err)
	}
	if t.Issuer, _, err = c.String("iss"); err != nil {
		return nil, ErrUnverifiable.With("", err)
	}
	if err := c.CheckTimes(jose.TimeRules{Now: now(), Skew: o.Skew, RequireIat: true, RequireExp: o.RequireExp}); err != nil {
		return nil, ErrUnverifiable.With("the status list is expired or not yet valid", err)
	}
	t.IssuedAt, _, _ = c.NumericDate("iat")
	t.ExpiresAt, _, _ = c.NumericDate("exp")
	if t.TTL, err = clampTTL(c, o); err != nil {
		return nil, err
	}
	if t.List, t.AggregationURI, err = readList(c, o.MaxBytes); err != nil {
		return nil, err
	}
	return t, nil
}

func clampTTL(c jose.Claims, o VerifyOptions) (time.Duration, error) {
	lo, hi := o.MinTTL, o.MaxTTL
	if lo <= 0 {
		lo = DefaultMinTTL
	}
	if hi <= 0 {
		hi = DefaultMaxTTL
	}
	hi = max(hi, lo)
	v, present := c["ttl"]
	if !present {
		return hi, nil
	}
	n, isNum := v.(stdjson.Number)
	if !isNum {
		return 0, ErrUnverifiable.With("ttl must be a number", jose.ErrInvalidClaim)
	}
	// A positive integer; ParseNumericDate gives the pedantic integer rules.
	secs, err := jose.ParseNumericDate(string(n))
	if err != nil || secs <= 0 {
		return 0, ErrUnverifiable.With("ttl must be a positive integer", jose.ErrInvalidClaim)
	}
	d := time.Duration(min(secs, int64(hi/time.Second)+1)) * time.Second
	return min(max(d, lo), hi), nil
}

func readList(c jose.Claims, maxBytes int) (*List, string, error) {
	sl, ok := c["status_list"].(map[string]any)
	if !ok {
		return nil, "", ErrUnverifiable.With("status_list must be an object", jose.ErrInvalidClaim)
	}
	bitsLit, ok := sl["bits"].(stdjson.Number)
	if !ok {
		return nil, "", ErrUnverifiable.With("bits must be a number", ErrInvalidBits)
	}
	bits := map[stdjson.Number]int{"1": 1, "2": 2, "4": 4, "8": 8}[bitsLit]
	if bits == 0 {
		return nil, "", ErrUnverifiable.With("", ErrInvalidBits)
	}
	lst, ok := sl["lst"].(string)
	if !ok {
		return nil, "", ErrUnverifiable.With("lst must be a string", ErrInvalidList)
	}
	agg, present := sl["aggregation_uri"]
	aggURI, isStr := agg.(string)
	if present && !isStr {
		return nil, "", ErrUnverifiable.With("aggregation_uri must be a string", jose.ErrInvalidClaim)
	}
	l, err := Decode(bits, lst, maxBytes)
	if err != nil {
		return nil, "", ErrUnverifiable.With("", err)
	}
	return l, aggURI, nil
}

// CacheUntil returns when a token fetched at fetchedAt must be fetched again:
// fetchedAt plus the clamped TTL, or the expiry if that comes first.
func (t *Token) CacheUntil(fetchedAt time.Time) time.Time {
	until := fetchedAt.Add(t.TTL)
	if !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(until) {
		return t.ExpiresAt
	}
	return until
}
