package issuer

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ssi-project/ssi/internal/store"
)

// TestSubjectDataRefusesControlCharacters is issue 13 fix 4: a string of
// subject data (a claim value or a member name, at any depth) holding a
// C0 control character (tab, newline and carriage return included), DEL
// or a C1 control character is refused with invalid_subject_data, and
// nothing is stored: no offer, no audit record. Such characters have no
// place in a name, a date or a code, and would reach wallets' displays,
// verifiers' records and logs as invisible or line-breaking text.
func TestSubjectDataRefusesControlCharacters(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		date := time.Now().UTC().AddDate(0, -2, 0).Format(time.DateOnly)
		subject := func(given, place string) map[string]any {
			vacc := map[string]any{"date": date, "vaccine": "XYZ-1"}
			if place != "" {
				vacc["place"] = place
			}
			return map[string]any{"given_name": given, "family_name": "Lovelace", "birth_date": "1950-12-10", "vaccinations": []any{vacc}}
		}
		offers := countRows(t, st, "credential_offers")
		audits := countWhere(t, st, "audit", "action = 'credential_offer.create'")
		for name, subj := range map[string]map[string]any{
			"NUL":                  subject("Ada\u0000", ""),
			"NUL alone":            subject("\u0000", ""),
			"BEL":                  subject("A\u0007da", ""),
			"tab":                  subject("Ada\tLovelace", ""),
			"newline":              subject("Ada\nLovelace", ""),
			"carriage return":      subject("Ada\r", ""),
			"unit separator":       subject("Ada\u001f", ""),
			"DEL":                  subject("Ada\u007f", ""),
			"C1 NEL":               subject("Ada\u0085", ""),
			"C1 CSI":               subject("\u009bAda", ""),
			"nested in an array":   subject("Ada", "Albany\u0000"),
			"in a member name":     map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1950-12-10", "vaccinations": []any{map[string]any{"date": date, "vaccine": "XYZ-1", "pla\u0000ce": "x"}}},
			"escape in a date":     {"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1950-12-10\u0000", "vaccinations": []any{}},
			"ESC, a terminal code": subject("\u001b[2JAda", ""),
		} {
			code, b, _ := e.do("POST", "/issuer/v1/offers", e.keys["health/all"], map[string]any{
				"credential_configuration_id": "vaccination-pass", "subject_ref": "c-" + name, "subject_data": subj}, "")
			assert.Equal(t, http.StatusBadRequest, code, name)
			assert.Equal(t, "invalid_subject_data", errCode(b), name)
		}
		assert.Equal(t, offers, countRows(t, st, "credential_offers"), "no offer stored")
		assert.Equal(t, audits, countWhere(t, st, "audit", "action = 'credential_offer.create'"), "no offer audited")

		// What is not a control character passes: accents, other scripts,
		// the space, and U+00A0 (no-break space, just past C1).
		for _, given := range []string{"Zoë", "Ada Lovelace", "Ада", "李", "Ada\u00a0L"} {
			code, b, _ := e.do("POST", "/issuer/v1/offers", e.keys["health/all"], map[string]any{
				"credential_configuration_id": "vaccination-pass", "subject_ref": "ok", "subject_data": subject(given, "")}, "")
			assert.Equal(t, http.StatusCreated, code, "%q: %s", given, b)
		}
	})
}
