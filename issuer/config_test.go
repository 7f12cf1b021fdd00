package issuer

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

// TestDerivedPredicates checks the boundaries of the derived claims.
func TestDerivedPredicates(t *testing.T) {
	health, _ := DevConfigs(vaccVCT, benefitsVCT)
	cfg := &health[0]
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name             string
		birth            string
		vaccinations     []any
		within, o18, o65 bool
	}{
		{"18 today", "2008-06-15", []any{map[string]any{"date": "2026-06-15"}}, true, true, false},
		{"18 tomorrow, vaccination 364 days ago", "2008-06-16", []any{map[string]any{"date": "2025-06-16"}}, true, false, false},
		{"65 today, vaccination 366 days ago", "1961-06-15", []any{map[string]any{"date": "2025-06-14"}}, false, true, true},
		{"a future vaccination does not count", "1990-01-01", []any{map[string]any{"date": "2026-07-01"}}, false, true, false},
		{"the latest of several counts", "1990-01-01", []any{map[string]any{"date": "2020-01-01"}, map[string]any{"date": "2026-01-01"}}, true, true, false},
		{"a malformed date yields false", "not-a-date", []any{map[string]any{"date": 7}}, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := map[string]any{"birth_date": c.birth, "vaccinations": c.vaccinations}
			cfg.derive(s, now)
			assert.Equal(t, c.within, s["vaccinated_within_policy"])
			assert.Equal(t, c.o18, s["age_over_18"])
			assert.Equal(t, c.o65, s["age_over_65"])
		})
	}
}

// TestSchemaValidation holds the JSON Schema subset to its contract: every
// failure is invalid_subject_data.
func TestSchemaValidation(t *testing.T) {
	health, benefits := DevConfigs(vaccVCT, benefitsVCT)
	ok := `{"given_name":"Ada","family_name":"L","birth_date":"1950-12-10","vaccinations":[{"date":"2026-01-01","vaccine":"x"}]}`
	cases := []struct {
		name string
		cfg  *CredentialConfig
		data string
		good bool
	}{
		{"valid", &health[0], ok, true},
		{"missing required", &health[0], `{"given_name":"Ada"}`, false},
		{"unknown member", &health[0], `{"given_name":"Ada","family_name":"L","birth_date":"1950-12-10","vaccinations":[{"date":"2026-01-01","vaccine":"x"}],"x":1}`, false},
		{"wrong type", &health[0], `{"given_name":1,"family_name":"L","birth_date":"1950-12-10","vaccinations":[{"date":"2026-01-01","vaccine":"x"}]}`, false},
		{"bad date", &health[0], `{"given_name":"Ada","family_name":"L","birth_date":"1950-13-10","vaccinations":[{"date":"2026-01-01","vaccine":"x"}]}`, false},
		{"empty string under minLength", &health[0], `{"given_name":"","family_name":"L","birth_date":"1950-12-10","vaccinations":[{"date":"2026-01-01","vaccine":"x"}]}`, false},
		{"too few items", &health[0], `{"given_name":"Ada","family_name":"L","birth_date":"1950-12-10","vaccinations":[]}`, false},
		{"item with an unknown member", &health[0], `{"given_name":"Ada","family_name":"L","birth_date":"1950-12-10","vaccinations":[{"date":"2026-01-01","vaccine":"x","y":1}]}`, false},
		{"duplicate member", &health[0], `{"given_name":"Ada","given_name":"Eve","family_name":"L","birth_date":"1950-12-10","vaccinations":[{"date":"2026-01-01","vaccine":"x"}]}`, false},
		{"not an object", &health[0], `[1]`, false},
		{"empty", &health[0], ``, false},
		{"enum value", &benefits[0], `{"given_name":"A","family_name":"B","birth_date":"1950-12-10","benefit":"housing","eligible_for_benefit":true}`, true},
		{"enum violation", &benefits[0], `{"given_name":"A","family_name":"B","birth_date":"1950-12-10","benefit":"lottery","eligible_for_benefit":true}`, false},
		{"boolean type", &benefits[0], `{"given_name":"A","family_name":"B","birth_date":"1950-12-10","benefit":"housing","eligible_for_benefit":"yes"}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.cfg.ValidateSubject([]byte(c.data))
			if c.good {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, "invalid_subject_data", errs.CodeOf(err))
		})
	}
}

// TestConfigChecks: New refuses configurations it cannot honour.
func TestConfigChecks(t *testing.T) {
	health, _ := DevConfigs(vaccVCT, benefitsVCT)
	for name, mutate := range map[string]func(c *CredentialConfig){
		"status bits 4":          func(c *CredentialConfig) { c.StatusBits = 4 },
		"batch size 0":           func(c *CredentialConfig) { c.BatchSize = 0 },
		"no validity":            func(c *CredentialConfig) { c.Validity = 0 },
		"schema not object":      func(c *CredentialConfig) { c.Schema = json.RawMessage(`{"type":"array"}`) },
		"unknown derivation":     func(c *CredentialConfig) { c.Derive = []Derivation{{Claim: "x", Kind: "magic", From: "y"}} },
		"display without a name": func(c *CredentialConfig) { c.Display = []Display{{Locale: "en"}} },
		"two displays for one locale": func(c *CredentialConfig) {
			c.Display = []Display{{Name: "A", Locale: "en"}, {Name: "B", Locale: "en"}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := health[0]
			mutate(&c)
			assert.Error(t, c.check())
		})
	}
	require.NoError(t, health[0].check())
}
