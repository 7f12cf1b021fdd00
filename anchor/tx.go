package anchor

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/trust"
)

// Transaction types.
const (
	TxAnchor       = "anchor"        // append entries
	TxAddWriter    = "add_writer"    // operator adds (or re-enables, or changes) a writer
	TxRemoveWriter = "remove_writer" // operator removes a writer
	TxSetOwner     = "set_owner"     // operator gives an anchored subject to another writer
)

// Writer roles.
const (
	RoleOperator = "operator" // may anchor and change the allow-list
	RoleWriter   = "writer"   // may anchor
)

// txDomain separates ledger transaction signatures from every other use of
// a writer's key.
const txDomain = "ssi-anchor-tx-v1\x00"

const maxChainIDLen = 64

// Size limits of a transaction. With the entries' own (trust.MaxSubjectLen
// and the others), a transaction can never smuggle a document or personal
// data onto the ledger.
const (
	MaxEntriesPerTx = 2000    // entries in one batch transaction
	MaxTxBytes      = 1 << 20 // a whole encoded transaction
)

// Body is the signed content of a transaction. Every transaction carries
// the chain ID (no cross-chain replay) and the writer's next sequence number
// (no replay on this chain).
type Body struct {
	ChainID string        `json:"chain_id"`
	Type    string        `json:"type"`
	Writer  string        `json:"writer"`
	Seq     uint64        `json:"seq"`
	Entries []trust.Entry `json:"entries,omitempty"` // TxAnchor: kind, subject, version, sha256 only
	Key     *WriterKey    `json:"key,omitempty"`     // TxAddWriter
	Role    string        `json:"role,omitempty"`    // TxAddWriter
	// Namespaces (TxAddWriter, role writer only) are the subject prefixes
	// under which the writer may open subjects (trust.ValidNamespace).
	Namespaces []string `json:"namespaces,omitempty"`
	Target     string   `json:"target,omitempty"`  // TxRemoveWriter, TxSetOwner: the writer ID
	Kind       string   `json:"kind,omitempty"`    // TxSetOwner: the subject
	Subject    string   `json:"subject,omitempty"` // TxSetOwner
}

// maxNamespaces bounds a writer's namespaces.
const maxNamespaces = 16

// WriterKey is a writer's public key as the allow-list holds it.
type WriterKey struct {
	// Alg is keys.EdDSA (Key is a 32-byte Ed25519 key) or keys.ES256 (Key
	// is a 65-byte SEC1 uncompressed P-256 key).
	Alg string `json:"alg"`
	Key []byte `json:"key"`
}

// Tx is a decoded, syntactically valid transaction whose signature has not
// been checked against the allow-list yet.
type Tx struct {
	Body    Body
	signing []byte // the exact bytes that were signed
	sig     []byte

	verifiedAlg string // the key the signature last verified under
	verifiedKey []byte
}

type txEnvelope struct {
	Body jsontext.Value `json:"body"`
	Sig  []byte         `json:"sig"`
}

// DecodeTx parses and syntactically validates a transaction. It checks
// sizes, types and field formats, never state or signatures. Every failure
// is an *errs.Error (malformed_tx, field_too_large or invalid_entry); it
// never panics.
func DecodeTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxBytes {
		return nil, ErrFieldTooLarge.With("the transaction is too large", nil)
	}
	var env txEnvelope
	if err := jsonx.Unmarshal(b, &env, true); err != nil {
		return nil, ErrMalformedTx.With("", err)
	}
	if len(env.Body) == 0 || env.Body.Kind() != '{' {
		return nil, ErrMalformedTx.With("the body must be a JSON object", nil)
	}
	if len(env.Sig) == 0 || len(env.Sig) > 80 {
		return nil, ErrMalformedTx.With("the signature is missing or too long", nil)
	}
	tx := &Tx{sig: env.Sig}
	if err := jsonx.Unmarshal(env.Body, &tx.Body, true); err != nil {
		return nil, ErrMalformedTx.With("", err)
	}
	if err := tx.Body.validate(); err != nil {
		return nil, err
	}
	tx.signing = append([]byte(txDomain), env.Body...)
	return tx, nil
}

func (b *Body) validate() error {
	if len(b.ChainID) > maxChainIDLen || len(b.Writer) > trust.MaxWriterIDLen ||
		len(b.Target) > trust.MaxWriterIDLen || len(b.Role) > 16 || len(b.Namespaces) > maxNamespaces {
		return ErrFieldTooLarge
	}
	if b.ChainID == "" {
		return ErrMalformedTx.With("chain_id is missing", nil)
	}
	if !trust.ValidWriterID(b.Writer) {
		return ErrMalformedTx.With("writer is not a key thumbprint", nil)
	}
	if b.Seq == 0 {
		return ErrMalformedTx.With("seq must be at least 1", nil)
	}
	// Each type carries its own fields and no other.
	var (
		entries    = len(b.Entries) != 0
		key        = b.Key != nil || b.Role != ""
		namespaces = b.Namespaces != nil
		target     = b.Target != ""
		subject    = b.Kind != "" || b.Subject != ""
	)
	switch b.Type {
	case TxAnchor:
		if len(b.Entries) > MaxEntriesPerTx {
			return ErrFieldTooLarge.With("too many entries in one transaction", nil)
		}
		if !entries || key || namespaces || target || subject {
			return ErrMalformedTx.With("an anchor transaction carries entries only", nil)
		}
		for i := range b.Entries {
			e := &b.Entries[i]
			if e.Writer != "" || e.Owner != "" || !e.Time.IsZero() {
				return ErrMalformedTx.With("writer, owner and time are set by the ledger", nil)
			}
			if err := e.ValidateRequest(); err != nil {
				return entryError(err, i)
			}
		}
	case TxAddWriter:
		if b.Key == nil || entries || target || subject {
			return ErrMalformedTx.With("add_writer carries a key, a role and namespaces only", nil)
		}
		if b.Role != RoleWriter && b.Role != RoleOperator {
			return ErrMalformedTx.With("unknown role", nil)
		}
		if b.Role == RoleOperator && namespaces {
			return ErrMalformedTx.With("an operator may open any subject: it has no namespaces", nil)
		}
		for _, ns := range b.Namespaces {
			if !trust.ValidNamespace(ns) {
				return ErrMalformedTx.With("a namespace must be an http(s) URI prefix ending in / or a DID prefix ending in :", nil)
			}
		}
		if _, err := b.Key.id(); err != nil {
			return err
		}
	case TxRemoveWriter:
		if !trust.ValidWriterID(b.Target) || entries || key || namespaces || subject {
			return ErrMalformedTx.With("remove_writer carries a target writer ID only", nil)
		}
	case TxSetOwner:
		if !trust.ValidWriterID(b.Target) || entries || key || namespaces {
			return ErrMalformedTx.With("set_owner carries a subject and a target writer ID only", nil)
		}
		if err := trust.ValidSubject(b.Kind, b.Subject); err != nil {
			return err
		}
	default:
		return ErrMalformedTx.With("unknown transaction type", nil)
	}
	return nil
}

// entryError names the offending entry by its index in the batch, so a
// client can take that one entry out and resubmit the rest.
func entryError(err error, i int) error {
	code, _ := abciCode(err)
	return abciCodes[code].With(fmt.Sprintf("entry %d", i), err)
}

// id returns the writer ID of k: the base64url RFC 7638 SHA-256 thumbprint
// of the key as a JWK, computed by keys.Thumbprint as keys.Signer.KeyID is.
func (k *WriterKey) id() (string, error) {
	var pub crypto.PublicKey
	switch k.Alg {
	case keys.EdDSA:
		if len(k.Key) != ed25519.PublicKeySize {
			return "", ErrMalformedTx.With("an Ed25519 key has 32 bytes", nil)
		}
		pub = ed25519.PublicKey(k.Key)
	case keys.ES256:
		if len(k.Key) != 65 {
			return "", ErrMalformedTx.With("a P-256 key is 65 bytes, uncompressed", nil)
		}
		p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k.Key)
		if err != nil {
			return "", ErrMalformedTx.With("the P-256 key is not on the curve", err)
		}
		pub = p
	default:
		return "", ErrMalformedTx.With("unsupported key algorithm", nil)
	}
	id, err := keys.Thumbprint(pub)
	if err != nil {
		return "", ErrMalformedTx.With("the key has no thumbprint", err)
	}
	return id, nil
}

// verify reports whether sig is k's signature over msg.
func (k *WriterKey) verify(msg, sig []byte) bool {
	switch k.Alg {
	case keys.EdDSA:
		return len(k.Key) == ed25519.PublicKeySize && ed25519.Verify(k.Key, msg, sig)
	case keys.ES256:
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k.Key)
		if err != nil {
			return false
		}
		d := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(pub, d[:], sig)
	}
	return false
}

// TxSigner signs transactions for one writer key. It works with any
// crypto.Signer holding an Ed25519 or a P-256 key, including a keys.Signer.
type TxSigner struct {
	signer crypto.Signer
	key    WriterKey
	id     string
}

// NewTxSigner wraps s. Only Ed25519 and ECDSA P-256 keys are accepted.
func NewTxSigner(s crypto.Signer) (*TxSigner, error) {
	var k WriterKey
	switch pub := s.Public().(type) {
	case ed25519.PublicKey:
		k = WriterKey{Alg: keys.EdDSA, Key: append([]byte(nil), pub...)}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, ErrMalformedTx.With("only P-256 ECDSA keys can sign ledger transactions", nil)
		}
		raw, err := pub.Bytes()
		if err != nil {
			return nil, ErrMalformedTx.With("encoding the P-256 key", err)
		}
		k = WriterKey{Alg: keys.ES256, Key: raw}
	default:
		return nil, ErrMalformedTx.With("only Ed25519 and P-256 keys can sign ledger transactions", nil)
	}
	id, err := k.id()
	if err != nil {
		return nil, err
	}
	return &TxSigner{signer: s, key: k, id: id}, nil
}

// ID is the writer ID (the key's RFC 7638 thumbprint).
func (s *TxSigner) ID() string { return s.id }

// Key is the public key to put on the allow-list.
func (s *TxSigner) Key() WriterKey { return s.key }

// Sign sets b.Writer to this signer's ID, signs b and returns the encoded
// transaction.
func (s *TxSigner) Sign(b Body) ([]byte, error) {
	b.Writer = s.id
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding the transaction body: %w", err)
	}
	msg := append([]byte(txDomain), body...)
	var sig []byte
	if s.key.Alg == keys.EdDSA {
		sig, err = s.signer.Sign(rand.Reader, msg, crypto.Hash(0))
	} else {
		d := sha256.Sum256(msg)
		sig, err = s.signer.Sign(rand.Reader, d[:], crypto.SHA256)
	}
	if err != nil {
		return nil, fmt.Errorf("signing the transaction: %w", err)
	}
	return json.Marshal(txEnvelope{Body: body, Sig: sig})
}
