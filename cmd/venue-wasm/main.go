//go:build js && wasm

package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"syscall/js"
	"time"

	"github.com/ssi-project/ssi/internal/bundle"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
)

// state is the opened bundle and the nonces this scanner accepted.
var (
	opened *bundle.Verified
	nonces = &keptNonces{}
)

// keptNonce is an accepted nonce as the page keeps it (IndexedDB), so
// that a reload does not forget it: its SHA-256 (base64url; the wallet's
// nonce itself is not stored) and, in Unix milliseconds, when the memory
// may drop it.
type keptNonce struct {
	Nonce string `json:"nonce"`
	Until int64  `json:"until"`
}

// keptNonces is the scanner's memory of accepted nonces, by their
// hashes, noting the one the last check accepted for the page to keep.
type keptNonces struct {
	mem  bundle.MemoryNonces
	used *keptNonce
}

func nonceHash(n string) string {
	h := sha256.Sum256([]byte(n))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Use implements bundle.Nonces.
func (k *keptNonces) Use(nonce string, until, now time.Time) bool {
	h := nonceHash(nonce)
	if !k.mem.Use(h, until, now) {
		return false
	}
	k.used = &keptNonce{Nonce: h, Until: until.UnixMilli()}
	return true
}

// answer encodes v as the JSON text the page parses.
func answer(v any) js.Value {
	b, err := json.Marshal(v)
	if err != nil {
		return js.ValueOf(`{"verdict":"red","reasons":["internal"]}`)
	}
	return js.ValueOf(string(b))
}

// open(bundleJWS, venueDID) verifies a signed bundle with the key of the
// venue's did:key and keeps it: {"ok":true,"verifier","issued_at",
// "max_age"} or {"ok":false,"code"}.
func open(_ js.Value, args []js.Value) any {
	if len(args) != 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeString {
		return answer(map[string]any{"ok": false, "code": "invalid_argument"})
	}
	venue := args[1].String()
	res, err := did.KeyResolver{}.Resolve(context.Background(), venue, did.ResolveOptions{})
	if err != nil {
		return answer(map[string]any{"ok": false, "code": bundle.Code(err)})
	}
	pub, alg, err := res.Document.PublicKey(venue+"#"+strings.TrimPrefix(venue, "did:key:"), did.AnyRelationship)
	if err != nil {
		return answer(map[string]any{"ok": false, "code": bundle.Code(err)})
	}
	v, err := bundle.Open(args[0].String(), jose.PublicKey{Key: pub, Alg: alg})
	if err != nil {
		return answer(map[string]any{"ok": false, "code": bundle.Code(err)})
	}
	if v.Bundle.Verifier != venue {
		return answer(map[string]any{"ok": false, "code": "bundle_invalid"})
	}
	opened = v
	return answer(map[string]any{"ok": true, "verifier": v.Bundle.Verifier,
		"issued_at": v.Bundle.IssuedAt, "max_age": v.Bundle.MaxAge})
}

// check(qrText, nowMillis) judges a holder-shown QR code against the
// opened bundle at nowMillis (the page's clock): the verdict document.
func check(_ js.Value, args []js.Value) any {
	if opened == nil {
		return answer(map[string]any{"verdict": "red", "reasons": []string{"bundle_missing"}})
	}
	if len(args) != 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeNumber {
		return answer(map[string]any{"verdict": "red", "reasons": []string{"invalid_argument"}})
	}
	now := time.UnixMilli(int64(args[1].Float()))
	nonces.used = nil
	v := opened.Check(args[0].String(), now, nonces)
	// used_nonce: what the page must keep before it shows the verdict.
	return answer(struct {
		*bundle.Verdict
		Used *keptNonce `json:"used_nonce,omitempty"`
	}{v, nonces.used})
}

// remember(keptJSON, nowMillis) puts back the nonces the page kept (a
// JSON array of {"nonce", "until"}, as check's used_nonce gave them),
// skipping those expired at nowMillis: {"ok":true,"kept":N} with N the
// live ones, or {"ok":false,"code"}.
func remember(_ js.Value, args []js.Value) any {
	if len(args) != 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeNumber {
		return answer(map[string]any{"ok": false, "code": "invalid_argument"})
	}
	var kept []keptNonce
	if err := json.Unmarshal([]byte(args[0].String()), &kept); err != nil {
		return answer(map[string]any{"ok": false, "code": "invalid_argument"})
	}
	now := time.UnixMilli(int64(args[1].Float()))
	n := 0
	for _, k := range kept {
		until := time.UnixMilli(k.Until)
		if k.Nonce == "" || !now.Before(until) {
			continue
		}
		nonces.mem.Use(k.Nonce, until, now)
		n++
	}
	return answer(map[string]any{"ok": true, "kept": n})
}

// main publishes globalThis.ssiVenue = {open, check, remember} and waits forever
// (the page's functions call into it).
func main() {
	js.Global().Set("ssiVenue", js.ValueOf(map[string]any{
		"open":     js.FuncOf(open),
		"check":    js.FuncOf(check),
		"remember": js.FuncOf(remember),
	}))
	js.Global().Call("dispatchEvent", js.Global().Get("Event").New("ssivenueready"))
	select {}
}
