package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestSentinelMatchesAcrossWrapping(t *testing.T) {
	sentinel := E(Conflict, "nonce_used", "the nonce was already used")
	err := fmt.Errorf("consuming nonce: %w", sentinel.With("", errors.New("row gone")))
	if !errors.Is(err, sentinel) {
		t.Fatal("errors.Is must match a sentinel by code through wrapping")
	}
	if errors.Is(err, E(Conflict, "other_code", "")) {
		t.Fatal("a different code must not match")
	}
	if !errors.Is(err, &Error{Kind: Conflict}) {
		t.Fatal("a code-less target must match by kind")
	}
	if got := CodeOf(err); got != "nonce_used" {
		t.Fatalf("CodeOf = %q", got)
	}
	if got := KindOf(err); got != Conflict {
		t.Fatalf("KindOf = %v", got)
	}
	if KindOf(errors.New("plain")) != Other || CodeOf(nil) != "" {
		t.Fatal("plain errors have no kind or code")
	}
}

func TestErrorStringCarriesCauseButDetailStaysSafe(t *testing.T) {
	e := Wrap(Internal, "store_failed", "try again later", errors.New("pq: relation x"))
	if e.Detail != "try again later" {
		t.Fatal("detail changed")
	}
	if got := e.Error(); got != "store_failed: try again later: pq: relation x" {
		t.Fatalf("Error() = %q", got)
	}
}
