package psr

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/mr-tron/base58"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
)

// Method is our DID method name, and OpTyp the JWS typ of its operations.
const (
	Method       = "psr"
	Prefix       = "did:" + Method + ":"
	OpTyp        = "psr-op+jwt"
	maxOpSize    = 64 << 10
	maxKeys      = 32
	maxServices  = 16
	maxEndpoint  = 512
	minSaltBytes = 16
)

// Purposes a verification method may have.
const (
	PurposeAuthentication       = "authentication"
	PurposeAssertionMethod      = "assertionMethod"
	PurposeCapabilityInvocation = "capabilityInvocation"
)

// Stable codes of the method.
var (
	ErrInvalidOperation = errs.E(errs.Invalid, "invalid_operation", "the DID operation is not valid")
	ErrNotController    = errs.E(errs.Forbidden, "not_controller", "the operation is not signed by a current controller key")
	ErrDeactivated      = errs.E(errs.Conflict, "did_already_deactivated", "the DID is deactivated; it accepts no further operation")
	ErrDIDExists        = errs.E(errs.Conflict, "did_exists", "the DID exists already")
)

var (
	vmIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	idPattern   = regexp.MustCompile(`^[1-9A-HJ-NP-Za-km-z]{43,44}$`)
)

// VMInput is a verification method in an operation.
type VMInput struct {
	ID           string         `json:"id"`
	PublicKeyJwk jsontext.Value `json:"publicKeyJwk"`
	Purposes     []string       `json:"purposes"`
}

// ServiceInput is a service in an operation.
type ServiceInput struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	ServiceEndpoint string `json:"serviceEndpoint"`
}

// Operation is the payload of a did:psr operation JWS.
type Operation struct {
	Op                       string          `json:"op"`
	DID                      string          `json:"did,omitempty"`
	Version                  uint64          `json:"version,omitempty"`
	VerificationMethod       []VMInput       `json:"verificationMethod,omitempty"`
	AddVerificationMethod    []VMInput       `json:"addVerificationMethod,omitempty"`
	RetireVerificationMethod []string        `json:"retireVerificationMethod,omitempty"`
	Service                  *[]ServiceInput `json:"service,omitempty"`
	Salt                     string          `json:"salt,omitempty"`
}

// Key is a verification method across the history of a DID.
type Key struct {
	ID        string   `json:"id"`
	JWK       keys.JWK `json:"jwk"`
	Purposes  []string `json:"purposes"`
	AddedIn   uint64   `json:"added_in"`
	RetiredIn uint64   `json:"retired_in,omitempty"` // 0 while active
}

func (k Key) active() bool { return k.RetiredIn == 0 }

func (k Key) controller() bool {
	return k.active() && slices.Contains(k.Purposes, PurposeCapabilityInvocation)
}

// State is everything the registry knows about one version of a DID: the
// active and retired keys, the services, and whether it is deactivated.
// The document of a version is derived from its State.
type State struct {
	DID         string         `json:"did"`
	Version     uint64         `json:"version"`
	Keys        []Key          `json:"keys"`
	Services    []ServiceInput `json:"services,omitempty"`
	Deactivated bool           `json:"deactivated,omitempty"`
}

// DIDFromCreatePayload derives the self-certifying DID of a create
// operation from its exact payload bytes.
func DIDFromCreatePayload(payload []byte) string {
	sum := sha256.Sum256(payload)
	return Prefix + base58.Encode(sum[:])
}

// ValidDID reports whether s is syntactically a did:psr DID.
func ValidDID(s string) bool {
	id, ok := strings.CutPrefix(s, Prefix)
	return ok && idPattern.MatchString(id)
}

// parseOperation decodes and bounds-checks an operation payload.
func parseOperation(payload []byte) (*Operation, error) {
	var op Operation
	if err := jsonx.Unmarshal(payload, &op, true); err != nil {
		return nil, ErrInvalidOperation.With("the operation payload is not valid: "+errs.CodeOf(err), err)
	}
	if len(op.VerificationMethod)+len(op.AddVerificationMethod) > maxKeys || len(op.RetireVerificationMethod) > maxKeys {
		return nil, ErrInvalidOperation.With("too many verification methods", nil)
	}
	if op.Service != nil && len(*op.Service) > maxServices {
		return nil, ErrInvalidOperation.With("too many services", nil)
	}
	return &op, nil
}

func decodeKey(in VMInput, version uint64) (Key, error) {
	if !vmIDPattern.MatchString(in.ID) {
		return Key{}, ErrInvalidOperation.With("a verification method id must match [A-Za-z0-9_-]{1,64}", nil)
	}
	j, err := keys.ParseJWK(in.PublicKeyJwk)
	if err != nil {
		return Key{}, ErrInvalidOperation.With("verification method "+in.ID+" has an unusable key: "+errs.CodeOf(err), err)
	}
	pub, err := j.PublicKey()
	if err != nil {
		return Key{}, ErrInvalidOperation.With("verification method "+in.ID+" has an unusable key: "+errs.CodeOf(err), err)
	}
	alg, err := keys.AlgorithmFor(pub)
	if err != nil || (alg != keys.ES256 && alg != keys.EdDSA) {
		return Key{}, ErrInvalidOperation.With("verification method "+in.ID+" must be a P-256 or Ed25519 key", err)
	}
	if len(in.Purposes) == 0 {
		return Key{}, ErrInvalidOperation.With("verification method "+in.ID+" needs at least one purpose", nil)
	}
	purposes := slices.Clone(in.Purposes)
	slices.Sort(purposes)
	purposes = slices.Compact(purposes)
	for _, p := range purposes {
		switch p {
		case PurposeAuthentication, PurposeAssertionMethod, PurposeCapabilityInvocation:
		default:
			return Key{}, ErrInvalidOperation.With("unknown purpose for verification method "+in.ID, nil)
		}
	}
	pj, err := keys.JWKFromPublic(pub)
	if err != nil {
		return Key{}, ErrInvalidOperation.With("", err)
	}
	return Key{ID: in.ID, JWK: pj, Purposes: purposes, AddedIn: version}, nil
}

func checkServices(svcs []ServiceInput) error {
	seen := map[string]bool{}
	for _, s := range svcs {
		if !vmIDPattern.MatchString(s.ID) || seen[s.ID] {
			return ErrInvalidOperation.With("service ids must be unique and match [A-Za-z0-9_-]{1,64}", nil)
		}
		seen[s.ID] = true
		if s.Type == "" || len(s.Type) > 64 {
			return ErrInvalidOperation.With("a service type is 1 to 64 characters", nil)
		}
		u, err := url.Parse(s.ServiceEndpoint)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(s.ServiceEndpoint) > maxEndpoint || u.User != nil {
			return ErrInvalidOperation.With("a service endpoint is an absolute https URL", nil)
		}
	}
	return nil
}

// verifyOp verifies a compact operation JWS whose signing key is found by
// lookup, and returns the decoded operation. Signature and key failures
// are returned as lookupErr's kind (not_controller for updates).
func verifyOp(token string, lookup func(kid string, op *Operation) (jose.PublicKey, error)) (*Operation, []byte, error) {
	var op *Operation
	j, err := jose.Verify(token, jose.VerifyOptions{
		Typ:     []string{OpTyp},
		MaxSize: maxOpSize,
		Key: func(h *jose.Header, payload []byte) (jose.PublicKey, error) {
			var perr error
			if op, perr = parseOperation(payload); perr != nil {
				return jose.PublicKey{}, perr
			}
			return lookup(h.Kid, op)
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return op, j.Payload, nil
}

func publicKey(k Key) (jose.PublicKey, error) {
	pub, err := k.JWK.PublicKey()
	if err != nil {
		return jose.PublicKey{}, err
	}
	alg, err := keys.AlgorithmFor(pub)
	if err != nil {
		return jose.PublicKey{}, err
	}
	return jose.PublicKey{Key: pub, Alg: alg}, nil
}

// Create verifies a create operation and returns the DID's first state.
func Create(token string) (*State, []byte, error) {
	var st *State
	_, payload, err := verifyOp(token, func(kid string, op *Operation) (jose.PublicKey, error) {
		if op.Op != "create" || op.DID != "" || op.Version != 0 || len(op.AddVerificationMethod) > 0 || len(op.RetireVerificationMethod) > 0 {
			return jose.PublicKey{}, ErrInvalidOperation.With("a create operation has op, verificationMethod, service and salt only", nil)
		}
		salt, err := base64.RawURLEncoding.DecodeString(op.Salt)
		if err != nil || len(salt) < minSaltBytes {
			return jose.PublicKey{}, ErrInvalidOperation.With("the salt must be at least 16 bytes of base64url", nil)
		}
		st = &State{Version: 1}
		seen := map[string]bool{}
		for _, in := range op.VerificationMethod {
			k, err := decodeKey(in, 1)
			if err != nil {
				return jose.PublicKey{}, err
			}
			if seen[k.ID] {
				return jose.PublicKey{}, ErrInvalidOperation.With("verification method ids must be unique", nil)
			}
			seen[k.ID] = true
			st.Keys = append(st.Keys, k)
		}
		if op.Service != nil {
			if err := checkServices(*op.Service); err != nil {
				return jose.PublicKey{}, err
			}
			st.Services = *op.Service
		}
		if !slices.ContainsFunc(st.Keys, Key.controller) {
			return jose.PublicKey{}, ErrInvalidOperation.With("a DID needs at least one capabilityInvocation key", nil)
		}
		frag, ok := strings.CutPrefix(kid, "#")
		i := slices.IndexFunc(st.Keys, func(k Key) bool { return k.ID == frag })
		if !ok || i < 0 || !st.Keys[i].controller() {
			return jose.PublicKey{}, ErrNotController.With("a create operation is signed by one of its own capabilityInvocation keys, named by kid #id", nil)
		}
		return publicKey(st.Keys[i])
	})
	if err != nil {
		return nil, nil, err
	}
	st.DID = DIDFromCreatePayload(payload)
	return st, payload, nil
}

// Apply verifies an update or deactivate operation against the current
// state cur and returns the next state. It refuses an operation for another
// DID (invalid_operation), one not signed by a current controller key
// (not_controller, including any signature failure), one that does not
// name version cur.Version+1 (stale_version), and any operation on a
// deactivated DID (did_deactivated).
func Apply(cur *State, token string) (*State, error) {
	if cur.Deactivated {
		return nil, ErrDeactivated
	}
	var next *State
	_, _, err := verifyOp(token, func(kid string, op *Operation) (jose.PublicKey, error) {
		if op.DID != cur.DID {
			return jose.PublicKey{}, ErrInvalidOperation.With("the operation names another DID", nil)
		}
		if op.Op != "update" && op.Op != "deactivate" {
			return jose.PublicKey{}, ErrInvalidOperation.With("op must be update or deactivate", nil)
		}
		if len(op.VerificationMethod) > 0 || op.Salt != "" {
			return jose.PublicKey{}, ErrInvalidOperation.With("verificationMethod and salt belong to create only", nil)
		}
		frag, ok := strings.CutPrefix(kid, cur.DID+"#")
		i := slices.IndexFunc(cur.Keys, func(k Key) bool { return k.ID == frag })
		if !ok || i < 0 || !cur.Keys[i].controller() {
			return jose.PublicKey{}, ErrNotController
		}
		if op.Version != cur.Version+1 {
			return jose.PublicKey{}, errs.E(errs.Conflict, "stale_version", "the operation must name version current+1")
		}
		var err error
		if next, err = nextState(cur, op); err != nil {
			return jose.PublicKey{}, err
		}
		return publicKey(cur.Keys[i])
	})
	switch errs.CodeOf(err) {
	case "":
		return next, nil
	case "invalid_signature", "unknown_key":
		return nil, ErrNotController.With("", err)
	}
	return nil, err
}

func nextState(cur *State, op *Operation) (*State, error) {
	v := cur.Version + 1
	next := &State{DID: cur.DID, Version: v, Keys: slices.Clone(cur.Keys), Services: cur.Services}
	if op.Op == "deactivate" {
		if len(op.AddVerificationMethod) > 0 || len(op.RetireVerificationMethod) > 0 || op.Service != nil {
			return nil, ErrInvalidOperation.With("a deactivate operation has op, did and version only", nil)
		}
		for i := range next.Keys {
			if next.Keys[i].active() {
				next.Keys[i].RetiredIn = v
			}
		}
		next.Services, next.Deactivated = nil, true
		return next, nil
	}
	for _, id := range op.RetireVerificationMethod {
		i := slices.IndexFunc(next.Keys, func(k Key) bool { return k.ID == id })
		if i < 0 || !next.Keys[i].active() {
			return nil, ErrInvalidOperation.With("only an active verification method can be retired", nil)
		}
		next.Keys[i].RetiredIn = v
	}
	for _, in := range op.AddVerificationMethod {
		k, err := decodeKey(in, v)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(next.Keys, func(e Key) bool { return e.ID == k.ID }) {
			return nil, ErrInvalidOperation.With("a verification method id is never reused", nil)
		}
		next.Keys = append(next.Keys, k)
	}
	if len(next.Keys) > maxKeys*4 {
		return nil, ErrInvalidOperation.With("the DID has too many keys over its history", nil)
	}
	if op.Service != nil {
		if err := checkServices(*op.Service); err != nil {
			return nil, err
		}
		next.Services = *op.Service
	}
	if !slices.ContainsFunc(next.Keys, Key.controller) {
		return nil, ErrInvalidOperation.With("at least one capabilityInvocation key must remain", nil)
	}
	return next, nil
}

// Document returns the DID document of a state. It is deterministic: the
// same state always gives the same bytes, whose SHA-256 is anchored.
func (s *State) Document() *did.Document {
	d := &did.Document{
		Context:    []string{did.ContextV1, "https://w3id.org/security/suites/jws-2020/v1"},
		ID:         s.DID,
		Controller: did.StringOrSet{s.DID},
	}
	for _, k := range s.Keys {
		if !k.active() {
			continue
		}
		jwk := k.JWK
		id := s.DID + "#" + k.ID
		d.VerificationMethod = append(d.VerificationMethod, did.VerificationMethod{
			ID: id, Type: did.TypeJSONWebKey2020, Controller: s.DID, PublicKeyJwk: &jwk,
		})
		for _, p := range k.Purposes {
			ref := did.MethodRef{Ref: id}
			switch p {
			case PurposeAuthentication:
				d.Authentication = append(d.Authentication, ref)
			case PurposeAssertionMethod:
				d.AssertionMethod = append(d.AssertionMethod, ref)
			case PurposeCapabilityInvocation:
				d.CapabilityInvocation = append(d.CapabilityInvocation, ref)
			}
		}
	}
	for _, sv := range s.Services {
		d.Service = append(d.Service, did.Service{ID: s.DID + "#" + sv.ID, Type: did.StringOrSet{sv.Type}, ServiceEndpoint: sv.ServiceEndpoint})
	}
	return d
}

// DocumentBytes returns the canonical serialization of s's document.
func (s *State) DocumentBytes() ([]byte, error) {
	b, err := json.Marshal(s.Document(), json.Deterministic(true))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "", "", err)
	}
	return b, nil
}

// NewSalt returns a fresh salt for a create operation.
func NewSalt() string {
	var b [minSaltBytes]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Signer helpers for agencies and tests: build and sign operations.

// SignCreate builds and signs a create operation with controller (whose
// verification method id is controllerID) and returns the token and DID.
func SignCreate(controller keys.Signer, controllerID string, extra []VMInput, services []ServiceInput) (string, string, error) {
	cj, err := keys.JWKFromPublic(controller.Public())
	if err != nil {
		return "", "", err
	}
	raw, err := json.Marshal(cj)
	if err != nil {
		return "", "", err
	}
	op := Operation{Op: "create", Salt: NewSalt(),
		VerificationMethod: append([]VMInput{{ID: controllerID, PublicKeyJwk: raw, Purposes: []string{PurposeCapabilityInvocation}}}, extra...),
	}
	if services != nil {
		op.Service = &services
	}
	payload, err := json.Marshal(op)
	if err != nil {
		return "", "", err
	}
	tok, err := jose.Sign(controller, map[string]any{"typ": OpTyp, "kid": "#" + controllerID}, payload)
	return tok, DIDFromCreatePayload(payload), err
}

// SignOp signs an update or deactivate operation with the controller key
// whose verification method id is kid.
func SignOp(controller keys.Signer, kid string, op Operation) (string, error) {
	payload, err := json.Marshal(op)
	if err != nil {
		return "", err
	}
	return jose.Sign(controller, map[string]any{"typ": OpTyp, "kid": op.DID + "#" + kid}, payload)
}

// VMFor returns the operation input for a public key with purposes.
func VMFor(id string, s keys.Signer, purposes ...string) (VMInput, error) {
	j, err := keys.JWKFromPublic(s.Public())
	if err != nil {
		return VMInput{}, err
	}
	raw, err := json.Marshal(j)
	return VMInput{ID: id, PublicKeyJwk: raw, Purposes: purposes}, err
}
