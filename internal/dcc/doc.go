// Package dcc reads EU Digital COVID Certificates (HCERT 1.x, the "HC1:"
// QR text) offline:
//
//	HC1: Base45( zlib( [tag 61] COSE_Sign1( CWT{1 iss, 6 iat, 4 exp, -260 {1 eu_dgc_v1}} ) ) )
//
// Verify decodes the text (Base45 from internal/qr, zlib with a size cap,
// CBOR with github.com/fxamacker/cbor/v2, COSE_Sign1 as
// github.com/veraison/go-cose decodes it, its header buckets decoded and
// validated by go-cose once per distinct bytes (cose.go)), finds the signing certificates (DSCs) of
// the kid in a Trust list it was given, checks the signature (ES256 or
// PS256), the times (DSC notBefore ≤ iat ≤ at ≤ exp ≤ DSC notAfter), that
// there is exactly one vaccination, test or recovery entry, and that the
// DSC's extended key usage, when it names certificate types, covers the
// entry's type. Every refusal is an *errs.Error with its own code
// (errors.go); the venue's policy is not applied here (internal/passcheck
// does that).
//
// It must never: fetch a DSC or a trust list (the caller loads them from
// files, LoadTrust); inflate without the cap; put any part of the
// certificate (names, dates, identifiers) into an error; import HTTP or SQL
// code or read the clock (it builds for GOOS=js GOARCH=wasm, for the venue
// page).
package dcc
