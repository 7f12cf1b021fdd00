package trust

// Anchor is how a server presents the ledger anchoring of a version it
// serves (a DID document version, a registry record version, a status
// list token), so that a client can check it without trusting the server:
//
//   - Receipt proves the version (kind, subject, version, sha256) was
//     anchored (VerifyReceipt);
//   - Latest proves the subject's latest anchored version (VerifyLatest):
//     equal to the served version for a current answer, newer for a
//     historic one;
//   - Next, for a historic version, is the receipt of the version after
//     it, whose block time says when the served version was superseded.
//
// Status is "anchored" when Receipt is set, "pending" while the version is
// not on the ledger yet (a client that requires anchoring refuses it).
type Anchor struct {
	Status  string       `json:"status"`
	Receipt *Receipt     `json:"receipt,omitempty"`
	Latest  *LatestProof `json:"latest,omitempty"`
	Next    *Receipt     `json:"next,omitempty"`
}

// Anchor statuses.
const (
	AnchorAnchored = "anchored"
	AnchorPending  = "pending"
)

// Evidence is one record version a registry decision rests on, as the
// registry serves it: the record's exact bytes (their SHA-256 is
// anchored; base64 in JSON, so that no encoder on the way re-escapes
// them), its Anchor, and, when Anchor.Next is set, the next version's
// bytes (NextRecord), whose effective time says when this one was
// superseded.
type Evidence struct {
	Record     []byte `json:"record"`
	Anchor     Anchor `json:"anchor"`
	NextRecord []byte `json:"next_record,omitempty"`
}

// StatusListVersion is an issuer's answer for one version of a status
// list (GET /status/{list}/latest, /status/{list}/versions/{n}): the
// version number, the Status List Token exactly as anchored (its SHA-256
// is the entry's), and its Anchor under the list's URI.
type StatusListVersion struct {
	Version uint64 `json:"version"`
	Token   string `json:"token"`
	Anchor  Anchor `json:"anchor"`
}
