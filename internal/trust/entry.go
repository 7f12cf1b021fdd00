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
// the SHA-256 digest SHA256". Writer, Owner and Time are set by the ledger:
// the writer's ID (an RFC 7638 thumbprint of its key), the owner of the
// subject as the ledger determined it when it appended the entry (only the
// owner may extend a subject, so in a genuine entry Owner == Writer), and
// the block time.
type Entry struct {
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Version uint64    `json:"version"`
	SHA256  string    `json:"sha256"` // 64 lowercase hex characters
	Writer  string    `json:"writer,omitempty"`
	Owner   string    `json:"owner,omitempty"`
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
		Owner   string `json:"owner"`
		Time    string `json:"time"`
	}
	b, err := json.Marshal(leaf{e.Kind, e.Subject, e.Version, e.SHA256, e.Writer, e.Owner,
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
	if !validKind(e.Kind) {
		return ErrInvalidEntry.With("unknown entry kind", nil)
	}
	if e.Version == 0 || e.Version > 1<<53 {
		return ErrInvalidEntry.With("the version must be between 1 and 2^53", nil)
	}
	if !validDigest(e.SHA256) {
		return ErrInvalidEntry.With("sha256 must be 64 lowercase hex characters", nil)
	}
	return validSubject(e.Kind, e.Subject)
}

// ValidSubject checks a (kind, subject) pair as ValidateRequest checks an
// entry's: ErrFieldTooLarge or ErrInvalidEntry.
func ValidSubject(kind, subject string) error {
	if len(kind) > MaxKindLen || len(subject) > MaxSubjectLen {
		return ErrFieldTooLarge
	}
	if !validKind(kind) {
		return ErrInvalidEntry.With("unknown entry kind", nil)
	}
	return validSubject(kind, subject)
}

func validKind(k string) bool {
	switch k {
	case KindDIDDocument, KindStatusList, KindAccreditation, KindRPRegistration:
		return true
	}
	return false
}

func validDigest(d string) bool {
	if len(d) != 64 || strings.ToLower(d) != d {
		return false
	}
	_, err := hex.DecodeString(d)
	return err == nil
}

// Validate checks a stored or received entry, including the ledger-set
// fields.
func (e Entry) Validate() error {
	if err := e.ValidateRequest(); err != nil {
		return err
	}
	if !ValidWriterID(e.Writer) || !ValidWriterID(e.Owner) {
		return ErrInvalidEntry.With("the writer or owner is not a key thumbprint", nil)
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

// ValidNamespace reports whether ns can confine a writer: a prefix of
// subjects that ends at a boundary, so that it covers nothing its owner did
// not mean. It is an http(s) URI with a host and a path that ends in "/"
// ("https://health.example/status/"), or a DID prefix of a method that ends
// in ":" ("did:web:health.example:", "did:psr:"), of URI characters only.
func ValidNamespace(ns string) bool {
	if ns == "" || len(ns) > MaxSubjectLen {
		return false
	}
	for i := 0; i < len(ns); i++ {
		if !uriChar(ns[i]) {
			return false
		}
	}
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(ns, scheme); ok {
			return strings.IndexByte(rest, '/') > 0 && strings.HasSuffix(ns, "/")
		}
	}
	rest, ok := strings.CutPrefix(ns, "did:")
	i := strings.IndexByte(rest, ':')
	if !ok || i <= 0 || !strings.HasSuffix(ns, ":") {
		return false
	}
	for _, c := range []byte(rest[:i]) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
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
