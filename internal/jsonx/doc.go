// Package jsonx is the strict JSON gate in front of every parser of
// untrusted JSON in ssi: HTTP bodies, JWT headers and payloads, SD-JWT
// disclosures, status lists, DID documents and ledger transactions.
//
// Check accepts exactly one JSON value that is valid UTF-8, has no duplicate
// member names at any level and nests no deeper than a limit. Only then may
// the bytes go to encoding/json, which on its own would silently take the
// last of two duplicate members and replace invalid UTF-8.
//
// It must never import HTTP, SQL or logging code.
package jsonx
