package trust

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kinds of anchored entries.
const (
	KindDIDDocument    = "did-document"
	KindStatusList     = "status-list"
	KindAccreditation  = "accreditation"
	KindRPRegistration = "rp-registration"
)

// Size limits of an entry's fields, so an entry can never carry a document
// or personal data.
const (
	MaxSubjectLen  = 512 // a DID or an http(s) URI
	MaxKindLen     = 32
	MaxWriterIDLen = 64
)

// Entry is one anchored fact: "version Version of Subject (of kind Kind) has
// the SHA-256 digest SHA256". Writer and Time are set by the ledger: the
// writer's ID (an RFC 7638 thumbprint of its key) and the block time.
type Entry struct {
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Version uint64    `json:"version"`
	SHA256  string    `json:"sha256"` // 64 lowercase hex characters
	Writer  string    `json:"writer,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

// Key is the outbox key and the identity of an entry: kind|subject|version.
func (e Entry) Key() string {
	return fmt.Sprintf("%s|%s|%d", e.Kind, e.Subject, e.Version)
}

// LeafHash is the RFC 6962 leaf hash of e in the ledger's log.
func (e Entry) LeafHash() []byte { return logHasher.HashLeaf(e.leafBytes()) }

// leafBytes is the canonical encoding hashed into the Merkle log. It is
// encoding/json of a fixed struct (fields in declaration order, time in UTC
// RFC 3339 with nanoseconds), so every validator and every offline verifier
// computes the same bytes.
func (e Entry) leafBytes() []byte {
	type leaf struct {
		Kind    string `json:"kind"`
		Subject string `json:"subject"`
		Version uint64 `json:"version"`
		SHA256  string `json:"sha256"`
		Writer  string `json:"writer"`
		Time    string `json:"time"`
	}
	b, err := json.Marshal(leaf{e.Kind, e.Subject, e.Version, e.SHA256, e.Writer,
		e.Time.UTC().Format(time.RFC3339Nano)})
	if err != nil { // a struct of strings and an integer always marshals
		panic(fmt.Sprintf("trust: encoding a leaf: %v", err))
	}
	return b
}

// ValidateRequest checks the fields a writer supplies (kind, subject,
// version, sha256). It never looks at state. A failure is ErrFieldTooLarge
// or ErrInvalidEntry.
func (e Entry) ValidateRequest() error {
	if len(e.Kind) > MaxKindLen || len(e.Subject) > MaxSubjectLen || len(e.SHA256) > 64 {
		return ErrFieldTooLarge
	}
	switch e.Kind {
	case KindDIDDocument, KindStatusList, KindAccreditation, KindRPRegistration:
	default:
		return ErrInvalidEntry.With("unknown entry kind", nil)
	}
	if e.Version == 0 || e.Version > 1<<53 {
		return ErrInvalidEntry.With("the version must be between 1 and 2^53", nil)
	}
	if len(e.SHA256) != 64 || strings.ToLower(e.SHA256) != e.SHA256 {
		return ErrInvalidEntry.With("sha256 must be 64 lowercase hex characters", nil)
	}
	if _, err := hex.DecodeString(e.SHA256); err != nil {
		return ErrInvalidEntry.With("sha256 must be 64 lowercase hex characters", nil)
	}
	if err := validSubject(e.Kind, e.Subject); err != nil {
		return err
	}
	return nil
}

// Validate checks a stored or received entry, including the ledger-set
// fields.
func (e Entry) Validate() error {
	if err := e.ValidateRequest(); err != nil {
		return err
	}
	if !ValidWriterID(e.Writer) {
		return ErrInvalidEntry.With("the writer is not a key thumbprint", nil)
	}
	return nil
}

// validSubject accepts a DID (did:method:id) or an http(s) URI made only of
// RFC 3986 characters. A did-document subject must be a DID.
func validSubject(kind, s string) error {
	if s == "" {
		return ErrInvalidEntry.With("the subject is empty", nil)
	}
	for i := 0; i < len(s); i++ {
		if !uriChar(s[i]) {
			return ErrInvalidEntry.With("the subject must be a DID or a URI", nil)
		}
	}
	isDID := strings.HasPrefix(s, "did:") && strings.Count(s[:min(len(s), 64)], ":") >= 2 && validDIDMethod(s)
	isURI := strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
	switch {
	case kind == KindDIDDocument && !isDID:
		return ErrInvalidEntry.With("a did-document subject must be a DID", nil)
	case !isDID && !isURI:
		return ErrInvalidEntry.With("the subject must be a DID or an http(s) URI", nil)
	}
	return nil
}

func validDIDMethod(s string) bool {
	rest := s[len("did:"):]
	i := strings.IndexByte(rest, ':')
	if i <= 0 || i == len(rest)-1 {
		return false
	}
	for _, c := range []byte(rest[:i]) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func uriChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
}

// ValidWriterID reports whether id has the shape of a writer ID: the
// base64url (unpadded) RFC 7638 SHA-256 thumbprint of the writer's key.
func ValidWriterID(id string) bool {
	if len(id) != 43 { // base64url (no padding) of a SHA-256 digest
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
