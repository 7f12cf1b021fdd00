// Package shc reads SMART Health Cards offline: the QR text
//
//	shc:/ digits   (two digits per character of a compact JWS, value − 45)
//
// whose JWS has the header {"zip":"DEF","alg":"ES256","kid":<RFC 7638
// thumbprint>} and a raw-DEFLATE payload {iss, nbf, [exp], vc:{type, [rid],
// credentialSubject:{fhirVersion, fhirBundle}}}.
//
// Verify decodes the digits (refusing odd lengths, non-digits and values
// out of range), refuses the deprecated chunked form shc:/C/N/…, inflates
// the payload with a size cap, finds the issuer and its key in a Trust it
// was given (the VCI directory snapshot, or one issuer's JWKS and CRL
// files), checks the ES256 signature, nbf and exp, revocation by rid when
// the key has a crlVersion (honouring rid.ts against nbf), and reads the
// FHIR bundle's Patient and Immunization entries. Every refusal is an
// *errs.Error with its own code (errors.go).
//
// It must never: fetch an issuer's keys or CRL (from the iss in the card or
// anywhere else: the caller loads the Trust from files); inflate without
// the cap; put any part of the card (names, dates, identifiers) into an
// error; import HTTP or SQL code or read the clock (it builds for GOOS=js
// GOARCH=wasm, for the venue page).
package shc
