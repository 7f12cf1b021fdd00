// Package issuer is the OpenID4VCI 1.0 issuer service an agency runs: it
// issues key-bound SD-JWT VCs to wallets through the pre-authorized code
// flow (offer → token → nonce → credential, with batch issuance), keeps
// one issuance record per credential written before the credential is
// signed, allocates random status-list indices, publishes its Token Status
// Lists and anchors each published version through the outbox, and lets a
// tenant's admins create offers and revoke, suspend or unsuspend its
// credentials. Access tokens are bearer tokens or, when the wallet sends a
// DPoP proof (RFC 9449; required with Config.RequireDPoP), bound to the
// proof's key: the credential endpoint then wants the DPoP scheme and a
// fresh proof of that key over the token (dpop.go; no server nonces).
//
// Domain logic lives in service.go and one file per flow (offer.go,
// credential.go, status.go); HTTP lives in http.go only.
//
// It must never: sign a credential that has no committed issuance record;
// store an SD-JWT, a disclosure, a tx_code, a pre-authorized code or an
// access token (only their hashes); log a tx_code, a code, a token, a DPoP
// proof or key, or subject data; accept a DPoP-bound token without a fresh,
// unused proof of its key; accept a status, index or issuer chosen by a client; let a
// tenant see or change another tenant's offers, credentials or lists.
package issuer
