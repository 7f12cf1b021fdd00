// Package jose is the strict JWS layer of ssi: compact JWS signing and
// verification, the policy for holder keys carried as JWKs (the JWK type
// itself and its one parsing rule are package keys') and pedantic
// NumericDate handling.
//
// It accepts exactly two algorithms, ES256 and EdDSA, each bound to one key
// type, from an explicit allow-list. It checks `crit` itself (RFC 7515
// §4.1.11), runs every header and payload through jsonx.Check before use,
// caps the input size before splitting, and accepts ECDSA signatures only as
// raw 64-byte R||S.
//
// It must never:
//   - take a verification key from a header (`jwk`, `x5c`, `jku`, `x5u`),
//     except in the one documented proof-of-possession mode (the OID4VCI
//     key proof and the DPoP proof), and never make an outbound request
//     for one;
//   - accept `alg: none`, a MAC algorithm, the JWS JSON serialization or a JWE;
//   - import HTTP server code or SQL, or log anything.
//
// Signing and verification are hand-assembled around crypto/ecdsa and
// crypto/ed25519 (jwx v3 costs about 10 µs per sign and adds nothing we need
// on the verify path); the tests cross-check both directions against
// github.com/lestrrat-go/jwx/v3.
package jose
