// Package qr is the QR code format package of ssi: QR symbols with an
// explicit segment mode and error-correction level, rendered as PNG and
// SVG (the issuer's credential-offer links, later the verifier's
// requests), and the compact offline envelope, in which a wallet shows
// its SD-JWT+KB to a venue with no network between them
// (docs/offline-qr.md is the specification):
//
//	SSI1: Base45( raw DEFLATE( flags · n · length-prefixed parts ) )
//
// where the parts are the base64url-decoded bytes of the issuer-signed
// JWT's header, payload and signature, of each disclosure and of the
// KB-JWT's three parts. DecodeEnvelope gives back the compact string
// byte-exact; EncodeEnvelope refuses what it could not give back so.
//
// Decoding is for hostile input: the text length is checked first, the
// Base45 decoder refuses everything RFC 9285 §4 forbids, inflation stops
// at MaxFramedSize, the framing is checked to the last byte, and every
// refusal is an *errs.Error with a stable code (errors.go).
//
// It must never: verify or trust what it decodes (the caller verifies
// the SD-JWT with internal/sdjwt, and applies the offline KB-JWT rules of
// docs/offline-qr.md); import HTTP or SQL code, read the clock or keep
// state (so that it builds for GOOS=js GOARCH=wasm, for the venue page);
// inflate without the cap; or put any part of a presentation into an
// error detail.
package qr
