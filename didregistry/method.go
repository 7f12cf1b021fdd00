package didregistry

import (
	"github.com/ssi-project/ssi/internal/psr"
	"github.com/ssi-project/ssi/internal/trust"
)

// The did:psr method lives in internal/psr, so that clients replay DIDs'
// operations with the registry's own code; these are its names here.
const (
	Method = psr.Method
	Prefix = psr.Prefix
	OpTyp  = psr.OpTyp
)

// Purposes a verification method may have.
const (
	PurposeAuthentication       = psr.PurposeAuthentication
	PurposeAssertionMethod      = psr.PurposeAssertionMethod
	PurposeCapabilityInvocation = psr.PurposeCapabilityInvocation
)

// Stable codes of the method.
var (
	ErrInvalidOperation = psr.ErrInvalidOperation
	ErrNotController    = psr.ErrNotController
	ErrStaleVersion     = trust.ErrStaleVersion.With("the operation does not extend the current version", nil)
	ErrDeactivated      = psr.ErrDeactivated
	ErrDIDExists        = psr.ErrDIDExists
)

type (
	VMInput      = psr.VMInput
	ServiceInput = psr.ServiceInput
	Operation    = psr.Operation
	Key          = psr.Key
	State        = psr.State
)

var (
	ValidDID   = psr.ValidDID
	Create     = psr.Create
	Apply      = psr.Apply
	SignCreate = psr.SignCreate
	SignOp     = psr.SignOp
	VMFor      = psr.VMFor
)
