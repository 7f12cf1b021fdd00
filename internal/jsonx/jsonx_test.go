package jsonx

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

func TestCheck(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cases := []struct {
		name string
		in   string
		code string // "" means accepted
	}{
		{"object", `{"a":1,"b":[true,null,"x"]}`, ""},
		{"scalar", `42`, ""},
		{"surrounding whitespace", " \n{}\t ", ""},
		{"depth at the limit", deep(32), ""},
		{"depth over the limit", deep(33), "json_too_deep"},
		{"deep objects", strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40), "json_too_deep"},
		{"duplicate at top", `{"a":1,"a":2}`, "malformed_json"},
		{"duplicate nested", `{"x":{"a":1,"a":2}}`, "malformed_json"},
		{"duplicate by escape", `{"a":1,"\u0061":2}`, "malformed_json"},
		{"same name in sibling objects is fine", `[{"a":1},{"a":2}]`, ""},
		{"case variants are distinct", `{"iss":1,"ISS":2}`, ""},
		{"invalid utf8 in string", "{\"a\":\"\xff\"}", "invalid_utf8"},
		{"invalid utf8 in name", "{\"\xc3\x28\":1}", "invalid_utf8"},
		{"trailing value", `{} {}`, "malformed_json"},
		{"trailing garbage", `{}x`, "malformed_json"},
		{"truncated", `{"a":`, "malformed_json"},
		{"empty", ``, "malformed_json"},
		{"single quotes", `{'a':1}`, "malformed_json"},
		{"trailing comma", `[1,]`, "malformed_json"},
		{"NaN", `NaN`, "malformed_json"},
		{"largest double", `1.7976931348623157e308`, ""},
		{"underflow to zero is in range", `1e-400`, ""},
		{"1e300 is a double", `{"exp":1e300}`, ""},
		{"number beyond a double", `1E700`, "malformed_json"},
		{"negative beyond a double", `[-1e309]`, "malformed_json"},
		{"beyond a double in a member", `{"exp":2e400}`, "malformed_json"},
		{"400 digits, no exponent", strings.Repeat("9", 400), "malformed_json"},
		{"300 digits, no exponent", strings.Repeat("9", 300), ""},
		{"exponent inside a string is text", `"1e999"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.in), MaxDepth)
			if tc.code == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, errs.Invalid, errs.KindOf(err))
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
}

func TestUnmarshal(t *testing.T) {
	type body struct {
		Iss  string `json:"iss"`
		Size int    `json:"size"`
	}
	var b body
	require.NoError(t, Unmarshal([]byte(`{"iss":"x","size":3}`), &b, true))
	assert.Equal(t, body{"x", 3}, b)

	for name, tc := range map[string]struct{ in, code string }{
		"case variant is unknown, not iss": {`{"ISS":"x"}`, "unknown_field"},
		"unknown member":                   {`{"iss":"x","admin":true}`, "unknown_field"},
		"wrong type":                       {`{"size":"3"}`, "invalid_type"},
		"duplicate":                        {`{"iss":"a","iss":"b"}`, "malformed_json"},
	} {
		t.Run(name, func(t *testing.T) {
			var b body
			err := Unmarshal([]byte(tc.in), &b, true)
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}

	var lax body
	require.NoError(t, Unmarshal([]byte(`{"iss":"x","extra":1}`), &lax, false))
	var lax2 body
	require.NoError(t, Unmarshal([]byte(`{"ISS":"x"}`), &lax2, false))
	assert.Empty(t, lax2.Iss, "a case variant must never fill iss")
}

// FuzzCheck: Check never panics, its fast path and its token walk agree,
// and whatever it accepts the decoder behind it (JSON v2 into any) accepts
// too: it is never looser than that decoder. The corpus in
// testdata/fuzz/FuzzCheck keeps a crasher it found: 1E700, valid RFC 8259
// but beyond a double, which Check now refuses.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		`{"a":1}`,                  // plain object
		`{"a":1,"a":2}`,            // duplicate member
		`{"a":1,"\u0061":2}`,       // duplicate through an escape
		"[\"\xff\"]",               // invalid UTF-8
		strings.Repeat("[", 40),    // unterminated and too deep
		`{"x":[{"y":{"z":null}}]}`, // nesting within limits
		`1 2`,                      // two values
		`"\ud800"`,                 // lone surrogate escape
		``,                         // empty input
		`1E700`,                    // a number beyond a double
		`[1e-400,-0.0E+0]`,         // underflow and every part of the number grammar
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if fast, slow := fastValid(data, MaxDepth), walk(data, MaxDepth) == nil; fast != slow {
			t.Fatalf("the fast path (%v) and the token walk (%v) disagree on %q", fast, slow, data)
		}
		if Check(data, MaxDepth) != nil {
			return
		}
		var v any
		if err := Unmarshal(data, &v, false); err != nil {
			t.Fatalf("Check accepted %q but Unmarshal failed: %v", data, err)
		}
	})
}

// BenchmarkCheck measures the check on a typical 1 KB credential payload.
func BenchmarkCheck(b *testing.B) {
	payload := []byte(`{"iss":"did:psr:3XB1QcMEU5vfaSWLFQTYDow76GBHqCiMdGcapkTmSJQx","iat":1767225600,"exp":1798761600,` +
		`"vct":"urn:ssi:vct:vaccination-pass:1","cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}},` +
		`"status":{"status_list":{"idx":4711,"uri":"https://health.example/status/1"}},"_sd_alg":"sha-256","_sd":[` +
		strings.Repeat(`"CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI",`, 10) + `"x"]}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(payload, MaxDepth); err != nil {
			b.Fatal(err)
		}
	}
}

// TestErrorsQuoteNoInput is issue 13 fix 3 at its source: no refusal of
// Check or Unmarshal holds a byte of the input in its text (detail or
// cause), only the fault and its byte offset. jsontext's own errors quote
// the input (a lone surrogate left `\ud800ZeldaS` in the log) and name
// members by JSON pointer.
func TestErrorsQuoteNoInput(t *testing.T) {
	const m = "ZeldaSECRET"
	type body struct {
		Name  string   `json:"name"`
		Items []string `json:"items"`
		N     int8     `json:"n"`
	}
	for name, tc := range map[string]struct {
		in     string
		code   string
		offset int64
	}{
		"lone surrogate":     {`{"name":"\ud800` + m + `"}`, "malformed_json", 9},
		"bad escape":         {`{"` + m + `":"\q"}`, "malformed_json", 16},
		"bad UTF-8":          {"{\"name\":\"" + m + "\xff\"}", "invalid_utf8", 20},
		"duplicate name":     {`{"` + m + `":1,"` + m + `":2}`, "malformed_json", 17},
		"too deep":           {strings.Repeat(`{"`+m+`":`, 33) + `1` + strings.Repeat(`}`, 33), "json_too_deep", 15 * 32},
		"truncated":          {`{"` + m + `":"` + m, "malformed_json", 27},
		"bare word":          {`{"` + m + `":` + m + `}`, "malformed_json", 15},
		"trailing data":      {`{"name":"` + m + `"} "` + m + `"`, "malformed_json", 22},
		"control character":  {"{\"" + m + "\":\"" + m + "\x01\"}", "malformed_json", 27},
		"out of range":       {`{"` + m + `":1e999}`, "malformed_json", 20},
		"unknown member":     {`{"name":"a","` + m + `":1}`, "unknown_field", 12},
		"wrong type":         {`{"items":"` + m + `"}`, "invalid_type", 9},
		"number beyond int8": {`{"n":1234567}`, "invalid_type", 5},
	} {
		t.Run(name, func(t *testing.T) {
			var b body
			err := Unmarshal([]byte(tc.in), &b, true)
			require.Error(t, err)
			assert.Equal(t, tc.code, errs.CodeOf(err))
			assert.NotContains(t, err.Error(), m)
			assert.NotContains(t, err.Error(), "1234567")
			var e *errs.Error
			require.ErrorAs(t, err, &e)
			assert.NotContains(t, e.Detail, m)
			var p *Position
			require.ErrorAs(t, err, &p, "the cause locates the fault")
			assert.Equal(t, tc.offset, p.Offset, "%v", err)
		})
	}
}

// TestMalformedKeepsOnlyTheOffset: the refusal of another decoder (here
// jsontext's, which names the member it was in) comes back as
// malformed_json with the decoder's byte offset and none of its text.
func TestMalformedKeepsOnlyTheOffset(t *testing.T) {
	const m = "ZeldaSECRET"
	dec := jsontext.NewDecoder(strings.NewReader(`{"` + m + `":[1,}`))
	var err error
	for err == nil {
		_, err = dec.ReadToken()
	}
	require.Contains(t, err.Error(), m, "the decoder's own error quotes the input")
	got := Malformed(err)
	assert.Equal(t, "malformed_json", errs.CodeOf(got))
	assert.NotContains(t, got.Error(), m)
	var p *Position
	require.ErrorAs(t, got, &p)
	assert.Equal(t, int64(17), p.Offset, "the decoder's offset survives")
}
