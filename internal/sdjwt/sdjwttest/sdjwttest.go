// Package sdjwttest holds helpers for tests that present SD-JWTs to a
// verifier and need them broken in a precise way. It must never be
// imported by non-test code.
package sdjwttest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TamperFirstDisclosure changes the value of the first disclosure of the
// SD-JWT (or SD-JWT+KB) pres, keeping it a well-formed disclosure: its
// digest is then in no _sd array (an unreferenced disclosure).
func TamperFirstDisclosure(t testing.TB, pres string) string {
	t.Helper()
	parts := strings.Split(pres, "~")
	if len(parts) < 3 {
		t.Fatal("the presentation has no disclosure")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decoding the first disclosure: %v", err)
	}
	var d []any
	if err := json.Unmarshal(raw, &d); err != nil || len(d) != 3 {
		t.Fatalf("the first disclosure is not [salt, name, value]: %v", err)
	}
	d[2] = "tampered"
	if raw, err = json.Marshal(d); err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, "~")
}
