// Package statuslist implements the IETF Token Status List (draft-20) for
// ssi: status lists of 1, 2, 4 or 8 bits per entry, their ZLIB/DEFLATE
// compressed base64url encoding, and the Status List Token
// (`typ: statuslist+jwt`) that an issuer signs and a verifier checks.
//
// Decoding never inflates more than a fixed cap (a zlib bomb is rejected at
// the cap with bounded memory), never accepts a `bits` outside {1,2,4,8}, and
// never answers for an index outside the list. A Status List Token that
// cannot be fully verified (signature, typ, sub, exp, claims, list) is
// status_unverifiable: a verifier must treat the referenced credential as
// not valid, never as valid.
//
// This package must never fetch anything (the caller fetches, with the safe
// client of internal/did), never import HTTP server or SQL code, and never
// log.
package statuslist
