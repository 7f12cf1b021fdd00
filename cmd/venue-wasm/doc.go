// Command venue-wasm is the venue scanner's offline verifier, built with
// GOOS=js GOARCH=wasm and embedded in the page (web/static/venue/venue.wasm,
// make venue-wasm): it wraps internal/bundle, publishing
// globalThis.ssiVenue.open(bundleJWS, venueDID), which verifies the trust
// bundle with the key of the venue's did:key, and
// ssiVenue.check(qrText, nowMillis), which judges a holder-shown SSI1 QR
// code against it with no network (bundle_too_old past its maximum age).
// Both answer a JSON text.
//
// It must never open a connection, read the wall clock (the page passes
// the time), or put a presentation or a claim value anywhere but the
// verdict it returns. The accepted nonces are held in memory by their
// SHA-256; check's answer names the one it accepted (used_nonce), which
// the page keeps in IndexedDB before it shows the verdict, and
// ssiVenue.remember(keptJSON, nowMillis) puts the kept ones back after a
// reload, so that a reload does not reopen a replay (docs/pages.md).
package main
