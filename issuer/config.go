package issuer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// Errors of the offer's subject data.
var (
	ErrInvalidSubject = errs.E(errs.Invalid, "invalid_subject_data", "the subject data does not match the credential's schema")
	ErrUnknownConfig  = errs.E(errs.Invalid, "unknown_credential_configuration", "the credential configuration is unknown")
)

// Display is one localized display entry of a configuration's metadata.
type Display struct {
	Name        string `json:"name"`
	Locale      string `json:"locale,omitempty"`
	Description string `json:"description,omitempty"`
}

// Derivation computes one predicate claim from the subject data. Derived
// claims are always separately disclosable.
type Derivation struct {
	Claim string // the claim to write, e.g. "age_over_18"
	// Kind is "age_over" (From is a birth date YYYY-MM-DD; Years the age)
	// or "vaccinated_within_policy" (From is an array of events with a
	// "date" member; Window is how recent the latest must be).
	Kind   string
	From   string
	Years  int
	Window time.Duration
}

// CredentialConfig is one credential configuration of a tenant.
type CredentialConfig struct {
	ID      string // credential_configuration_id
	VCT     string
	Profile sdjwt.Profile // SD-JWT VC (default) or W3C VCDM 2.0
	// Types are the VCDM credential types after VerifiableCredential
	// (ProfileVCDM only).
	Types   []string
	Display []Display
	// Schema is the JSON Schema of the subject data, validated on every
	// offer. The subset understood: type (object, array, string, integer,
	// number, boolean), properties, required, additionalProperties:false,
	// items, enum, format "date", minLength, maxLength, minItems, maxItems.
	Schema json.RawMessage
	// Disclose names the top-level subject claims that are selectively
	// disclosable; the others are always visible.
	Disclose []string
	Derive   []Derivation
	Validity time.Duration // credential lifetime
	// StatusBits is 1 (valid/revoked) or 2 (also suspended).
	StatusBits int
	// BatchSize is the most credentials one request gets (one per proof,
	// for the first proofs); a request may carry up to the tenant's
	// largest BatchSize proofs, the metadata's batch_size.
	BatchSize int

	// compiled is Schema parsed, set by check so that the credential
	// endpoint does not parse the schema again on every request.
	compiled *schema
}

// schema is the parsed subset of JSON Schema.
type schema struct {
	Type                 string             `json:"type"`
	Properties           map[string]*schema `json:"properties"`
	Required             []string           `json:"required"`
	AdditionalProperties *bool              `json:"additionalProperties"`
	Items                *schema            `json:"items"`
	Enum                 []any              `json:"enum"`
	Format               string             `json:"format"`
	MinLength            *int               `json:"minLength"`
	MaxLength            *int               `json:"maxLength"`
	MinItems             *int               `json:"minItems"`
	MaxItems             *int               `json:"maxItems"`
	Title                string             `json:"title"`
	Description          string             `json:"description"`
}

func (c *CredentialConfig) check() error {
	if c.ID == "" || c.VCT == "" {
		return fmt.Errorf("credential configuration: ID and VCT are required")
	}
	if c.StatusBits != 1 && c.StatusBits != 2 {
		return fmt.Errorf("credential configuration %s: status bits must be 1 or 2", c.ID)
	}
	if c.BatchSize < 1 || c.BatchSize > 100 {
		return fmt.Errorf("credential configuration %s: batch size must be 1 to 100", c.ID)
	}
	if c.Validity <= 0 {
		return fmt.Errorf("credential configuration %s: validity must be positive", c.ID)
	}
	locales := map[string]bool{}
	for _, d := range c.Display {
		if d.Name == "" {
			return fmt.Errorf("credential configuration %s: a display entry needs a name", c.ID)
		}
		if locales[d.Locale] { // one display object per language (§12.2.4)
			return fmt.Errorf("credential configuration %s: two display entries for locale %q", c.ID, d.Locale)
		}
		locales[d.Locale] = true
	}
	c.compiled = nil // parse Schema as it is now
	compiled, err := c.parseSchema()
	if err != nil {
		return fmt.Errorf("credential configuration %s: %w", c.ID, err)
	}
	for _, d := range c.Derive {
		if d.Claim == "" || d.From == "" || (d.Kind != "age_over" && d.Kind != "vaccinated_within_policy") {
			return fmt.Errorf("credential configuration %s: invalid derivation %q", c.ID, d.Claim)
		}
	}
	c.compiled = compiled
	return nil
}

func (c *CredentialConfig) parseSchema() (*schema, error) {
	if c.compiled != nil {
		return c.compiled, nil
	}
	var s schema
	if err := json.Unmarshal(c.Schema, &s); err != nil {
		return nil, fmt.Errorf("parsing schema: %w", err)
	}
	if s.Type != "object" {
		return nil, fmt.Errorf("the schema must describe an object")
	}
	return &s, nil
}

// isControl reports whether r is a C0 control character (U+0000 to
// U+001F, tab, newline and carriage return included), DEL (U+007F) or a C1
// control character (U+0080 to U+009F).
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }

// noControls refuses a control character (isControl) in any string of v,
// a member name or a value at any depth. Subject data are names, dates and
// codes, one line each: a tab or newline is refused as well as NUL, ESC or
// CSI, which would reach wallets' displays, verifiers' records and
// terminals as invisible, line-breaking or escape text. The error names no
// path: the path would hold the input's own member names.
func noControls(v any) error {
	switch v := v.(type) {
	case string:
		if strings.ContainsFunc(v, isControl) {
			return errControl
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsFunc(k, isControl) {
				return errControl
			}
			if err := noControls(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := noControls(e); err != nil {
				return err
			}
		}
	}
	return nil
}

var errControl = ErrInvalidSubject.With("a string of the subject data (a name or a value) holds a control character", nil)

// maxSubjectBytes bounds the subject data of one offer.
const maxSubjectBytes = 16 << 10

// ValidateSubject checks subject data against the configuration's schema
// and returns it decoded. Before the schema, it refuses a control
// character (C0 with tab, newline and carriage return, DEL, C1) in any
// string, name or value (see noControls). Every failure is ErrInvalidSubject naming the
// path by the schema's names (never a value, nor a member name the schema
// does not know).
func (c *CredentialConfig) ValidateSubject(data []byte) (map[string]any, error) {
	if len(data) == 0 || len(data) > maxSubjectBytes {
		return nil, ErrInvalidSubject.With("the subject data must be a JSON object of at most 16 KiB", nil)
	}
	var v map[string]any
	if err := jsonx.Unmarshal(data, &v, false); err != nil {
		return nil, ErrInvalidSubject.With("the subject data is not a JSON object", err)
	}
	if err := noControls(v); err != nil {
		return nil, err
	}
	s, err := c.parseSchema()
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "", "", err)
	}
	if err := s.validate("", v); err != nil {
		return nil, err
	}
	for _, reserved := range []string{"iss", "vct", "iat", "nbf", "exp", "cnf", "status", "_sd", "_sd_alg", "...", "sub_ref"} {
		if _, ok := v[reserved]; ok {
			return nil, ErrInvalidSubject.With("the subject data may not set "+reserved, nil)
		}
	}
	for _, d := range c.Derive {
		if _, ok := v[d.Claim]; ok {
			return nil, ErrInvalidSubject.With("the subject data may not set the derived claim "+d.Claim, nil)
		}
	}
	return v, nil
}

var dateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

func bad(path, why string) error {
	if path == "" {
		path = "/"
	}
	return ErrInvalidSubject.With(path+": "+why, nil)
}

func (s *schema) validate(path string, v any) error {
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return bad(path, "is not one of the allowed values")
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return bad(path, "must be an object")
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				return bad(path+"/"+r, "is required")
			}
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			sub, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties != nil && !*s.AdditionalProperties {
					// Not named: the name is the input's, not the schema's.
					return bad(path, "has a member the schema does not allow")
				}
				continue
			}
			if err := sub.validate(path+"/"+k, m[k]); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return bad(path, "must be an array")
		}
		if s.MinItems != nil && len(a) < *s.MinItems || s.MaxItems != nil && len(a) > *s.MaxItems {
			return bad(path, "has the wrong number of items")
		}
		if s.Items != nil {
			for i, e := range a {
				if err := s.Items.validate(fmt.Sprintf("%s/%d", path, i), e); err != nil {
					return err
				}
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return bad(path, "must be a string")
		}
		n := len([]rune(str))
		if s.MinLength != nil && n < *s.MinLength || s.MaxLength != nil && n > *s.MaxLength {
			return bad(path, "has the wrong length")
		}
		if s.Format == "date" {
			if _, err := parseDate(str); err != nil {
				return bad(path, "must be a date YYYY-MM-DD")
			}
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			if _, isFloat := v.(float64); !isFloat {
				return bad(path, "must be a number")
			}
			return nil
		}
		if s.Type == "integer" {
			if _, err := n.Int64(); err != nil {
				return bad(path, "must be an integer")
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad(path, "must be a boolean")
		}
	case "":
	default:
		return bad(path, "has an unsupported schema type")
	}
	return nil
}

func parseDate(s string) (time.Time, error) {
	if !dateRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("not a date")
	}
	return time.Parse(time.DateOnly, s)
}

// derive adds the derived predicate claims to subject, computed at now.
// A missing or malformed source yields false, never an error: the schema
// already decided what is required.
func (c *CredentialConfig) derive(subject map[string]any, now time.Time) {
	for _, d := range c.Derive {
		switch d.Kind {
		case "age_over":
			born, err := dateOf(subject[d.From])
			subject[d.Claim] = err == nil && !born.AddDate(d.Years, 0, 0).After(now)
		case "vaccinated_within_policy":
			events, _ := subject[d.From].([]any)
			ok := false
			for _, e := range events {
				m, _ := e.(map[string]any)
				at, err := dateOf(m["date"])
				if err == nil && !at.After(now) && now.Sub(at) <= d.Window {
					ok = true
				}
			}
			subject[d.Claim] = ok
		}
	}
}

func dateOf(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("not a string")
	}
	return parseDate(s)
}

// disclose returns the JSON Pointers to make selectively disclosable: the
// configured claims present in subject and every derived claim. In the
// VCDM profile the claims live under /credentialSubject.
func (c *CredentialConfig) disclose(subject map[string]any) []string {
	prefix := ""
	if c.Profile == sdjwt.ProfileVCDM {
		prefix = "/credentialSubject"
	}
	var out []string
	for _, name := range c.Disclose {
		if _, ok := subject[name]; ok {
			out = append(out, prefix+"/"+name)
		}
	}
	for _, d := range c.Derive {
		out = append(out, prefix+"/"+d.Claim)
	}
	return out
}

// DevConfigs are the two real example configurations `ssi dev` ships: a
// vaccination pass for the health agency and a benefits-eligibility card
// for the benefits agency.
func DevConfigs(vaccinationVCT, benefitsVCT string) (health, benefits []CredentialConfig) {
	health = []CredentialConfig{{
		ID: "vaccination-pass", VCT: vaccinationVCT, StatusBits: 2, BatchSize: 10, Validity: 365 * 24 * time.Hour,
		Display: []Display{{Name: "Vaccination pass", Locale: "en", Description: "Proof of vaccination under the public health order"}},
		Schema: json.RawMessage(`{"type":"object","additionalProperties":false,
			"required":["given_name","family_name","birth_date","vaccinations"],
			"properties":{
				"given_name":{"type":"string","minLength":1,"maxLength":100},
				"family_name":{"type":"string","minLength":1,"maxLength":100},
				"birth_date":{"type":"string","format":"date"},
				"vaccinations":{"type":"array","minItems":1,"maxItems":20,"items":{"type":"object","additionalProperties":false,
					"required":["date","vaccine"],
					"properties":{"date":{"type":"string","format":"date"},"vaccine":{"type":"string","maxLength":100},
						"place":{"type":"string","maxLength":200}}}}}}`),
		Disclose: []string{"given_name", "family_name", "birth_date", "vaccinations"},
		Derive: []Derivation{
			{Claim: "vaccinated_within_policy", Kind: "vaccinated_within_policy", From: "vaccinations", Window: 365 * 24 * time.Hour},
			{Claim: "age_over_18", Kind: "age_over", From: "birth_date", Years: 18},
			{Claim: "age_over_65", Kind: "age_over", From: "birth_date", Years: 65},
		},
	}}
	benefits = []CredentialConfig{{
		ID: "benefits-eligibility", VCT: benefitsVCT, Profile: sdjwt.ProfileVCDM, Types: []string{"BenefitsEligibilityCredential"}, StatusBits: 2, BatchSize: 10, Validity: 180 * 24 * time.Hour,
		Display: []Display{{Name: "Benefits eligibility card", Locale: "en"}},
		Schema: json.RawMessage(`{"type":"object","additionalProperties":false,
			"required":["given_name","family_name","birth_date","benefit","eligible_for_benefit"],
			"properties":{
				"given_name":{"type":"string","minLength":1,"maxLength":100},
				"family_name":{"type":"string","minLength":1,"maxLength":100},
				"birth_date":{"type":"string","format":"date"},
				"benefit":{"type":"string","enum":["housing","unemployment","disability"]},
				"eligible_for_benefit":{"type":"boolean"}}}`),
		Disclose: []string{"given_name", "family_name", "birth_date", "benefit", "eligible_for_benefit"},
		Derive:   []Derivation{{Claim: "age_over_65", Kind: "age_over", From: "birth_date", Years: 65}},
	}}
	return health, benefits
}
