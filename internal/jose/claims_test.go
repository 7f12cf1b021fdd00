package jose

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

// TestNumericDate is SECURITY-CASES A15.
func TestNumericDate(t *testing.T) {
	cases := []struct {
		name, json string
		want       int64
		code       string
	}{
		{"integer", `{"exp":1883000000}`, 1883000000, ""},
		{"zero", `{"exp":0}`, 0, ""},
		{"A15_1e300", `{"exp":1e300}`, 0, "invalid_claim"},
		{"A15_2_pow_63", `{"exp":9223372036854775808}`, 0, "invalid_claim"},
		{"A15_minus_1", `{"exp":-1}`, 0, "invalid_claim"},
		{"A15_string", `{"exp":"1883000000"}`, 0, "invalid_claim"},
		{"A15_float", `{"exp":1.5}`, 0, "invalid_claim"},
		{"float_integral", `{"exp":1883000000.0}`, 0, "invalid_claim"},
		{"exponent_integral", `{"exp":1E9}`, 0, "invalid_claim"},
		{"year_10000", `{"exp":253402300800}`, 0, "invalid_claim"},
		{"null", `{"exp":null}`, 0, "invalid_claim"},
		{"bool", `{"exp":true}`, 0, "invalid_claim"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseClaims([]byte(tc.json))
			require.NoError(t, err)
			got, ok, err := c.NumericDate("exp")
			if tc.code != "" {
				assert.Equal(t, tc.code, errs.CodeOf(err))
				return
			}
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, tc.want, got.Unix())
		})
	}
}

// TestCheckTimes is SECURITY-CASES A16 (skew is bounded by 60 s) and A15
// for each of exp, iat and nbf.
func TestCheckTimes(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	type timeCase struct {
		name, json string
		skew       time.Duration
		rules      TimeRules
		code       string
	}
	cases := []timeCase{
		{"valid", `{"iat":1699999990,"nbf":1699999990,"exp":1700000100}`, 0, TimeRules{}, ""},
		{"A16_expired", `{"exp":1699999999}`, 0, TimeRules{}, "expired"},
		{"A16_expired_within_skew", `{"exp":1699999970}`, 60 * time.Second, TimeRules{}, ""},
		{"A16_expired_beyond_skew", `{"exp":1699999939}`, 60 * time.Second, TimeRules{}, "expired"},
		{"A16_skew_clamped_to_60s", `{"exp":1699999000}`, time.Hour, TimeRules{}, "expired"},
		{"A16_nbf_future_beyond_skew", `{"nbf":1700000061}`, 60 * time.Second, TimeRules{}, "not_yet_valid"},
		{"A16_nbf_future_within_skew", `{"nbf":1700000060}`, 60 * time.Second, TimeRules{}, ""},
		{"A16_iat_future", `{"iat":1700000100}`, 0, TimeRules{}, "not_yet_valid"},
		{"exp_required", `{}`, 0, TimeRules{RequireExp: true}, "invalid_claim"},
		{"iat_required", `{}`, 0, TimeRules{RequireIat: true}, "invalid_claim"},
		{"A15_bad_iat", `{"iat":1.5}`, 0, TimeRules{}, "invalid_claim"},
	}
	// A15: each of exp, iat and nbf as 1e300, 2^63, -1, a string and a
	// float, through CheckTimes (with the largest skew: no window saves them).
	for _, claim := range []string{"exp", "iat", "nbf"} {
		for _, bad := range []struct{ name, lit string }{
			{"1e300", `1e300`}, {"2pow63", `9223372036854775808`}, {"minus_1", `-1`},
			{"string", `"1700000000"`}, {"float", `1700000000.5`},
		} {
			cases = append(cases, timeCase{"A15_" + claim + "_" + bad.name, `{"` + claim + `":` + bad.lit + `}`, MaxSkew, TimeRules{}, "invalid_claim"})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseClaims([]byte(tc.json))
			require.NoError(t, err)
			r := tc.rules
			r.Now, r.Skew = now, tc.skew
			err = c.CheckTimes(r)
			if tc.code == "" {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, tc.code, errs.CodeOf(err))
			}
		})
	}
}

func TestClaimsString(t *testing.T) {
	c, err := ParseClaims([]byte(`{"iss":"a","ISS":"b","n":1}`))
	require.NoError(t, err)
	s, ok, err := c.String("iss")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "a", s)
	_, _, err = c.String("n")
	assert.Equal(t, "invalid_claim", errs.CodeOf(err))
	_, ok, err = c.String("sub")
	assert.NoError(t, err)
	assert.False(t, ok)
}
