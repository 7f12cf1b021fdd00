// Package sdjwt implements Selective Disclosure for JWTs (RFC 9901), Key
// Binding JWTs, the SD-JWT VC profile (draft-ietf-oauth-sd-jwt-vc-16) and
// W3C VC Data Model 2.0 credentials secured as SD-JWT (VC-JOSE-COSE):
//
//   - the issuer side (Issuer.Issue): disclosable object properties, array
//     elements and recursive disclosures, 128-bit salts from crypto/rand,
//     decoy digests, sorted `_sd` arrays, compact and JSON serialization;
//   - the holder side (Present): choosing disclosures by JSON Pointer
//     (parents that nested ones need are added), and the KB-JWT;
//   - the verifier side (Verifier.Verify): the full algorithm of RFC 9901
//     §7 and the KB-JWT checks, returning exactly the disclosed claims.
//
// Decisions worth knowing: decoys go into `_sd` arrays only (not into
// arrays); the SD-JWT VC profile requires `iss` (ssi issuers are DIDs, not
// x5c); `_sd_alg` may be sha-256 (issued), sha-384 or sha-512 (accepted);
// the HAIP never-disclosable rule is enforced in every profile, including
// ProfilePlain.
//
// Every rejection is an *errs.Error with a stable code (SECURITY-CASES.md,
// sections A, B and C34–C39). Whether key binding is required is always the
// verifier's option, never decided by the input.
//
// It must never: import HTTP or SQL code; fetch anything (the issuer key is
// found through a callback); take a key from a JWS header; let `iss`, `iat`,
// `nbf`, `exp`, `cnf`, `vct` or `status` be selectively disclosable (HAIP);
// or put a disclosure, salt or token into an error detail.
package sdjwt
