//go:build js && wasm

package main

import (
	"context"
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
	nonces = &bundle.MemoryNonces{}
)

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
	return answer(opened.Check(args[0].String(), now, nonces))
}

// main publishes globalThis.ssiVenue = {open, check} and waits forever
// (the page's functions call into it).
func main() {
	js.Global().Set("ssiVenue", js.ValueOf(map[string]any{
		"open":  js.FuncOf(open),
		"check": js.FuncOf(check),
	}))
	js.Global().Call("dispatchEvent", js.Global().Get("Event").New("ssivenueready"))
	select {}
}
