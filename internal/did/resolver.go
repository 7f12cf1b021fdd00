package did

import (
	"context"
	"fmt"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
)

// Resolution errors. Each code maps to one W3C DID Resolution error name
// (see ResolutionErrorName).
var (
	ErrNotFound                   = errs.E(errs.NotFound, "did_not_found", "the DID was not found")
	ErrMethodNotSupported         = errs.E(errs.Invalid, "method_not_supported", "the DID method is not supported")
	ErrRepresentationNotSupported = errs.E(errs.Invalid, "representation_not_supported", "the requested DID document representation is not supported")
	ErrDeactivated                = errs.E(errs.Forbidden, "did_deactivated", "the DID has been deactivated")
	ErrResolutionFailed           = errs.E(errs.Unavailable, "did_resolution_failed", "the DID could not be resolved")
)

// Media types of DID document representations.
const (
	MediaTypeDIDJSON   = "application/did+json"
	MediaTypeDIDLDJSON = "application/did+ld+json"
)

// ResolveOptions are the DID resolution options (W3C DID Resolution §4.1).
type ResolveOptions struct {
	// Accept is the requested representation; "" means application/did+json.
	Accept string
}

// Resolution is the result of resolving a DID, in the shape of W3C DID
// Resolution: the document, its metadata and the resolution metadata.
type Resolution struct {
	Document           *Document          `json:"didDocument"`
	DocumentMetadata   DocumentMetadata   `json:"didDocumentMetadata"`
	ResolutionMetadata ResolutionMetadata `json:"didResolutionMetadata"`
}

// DocumentMetadata is the DID document metadata (DID Core §7.1.3).
type DocumentMetadata struct {
	Created     *time.Time `json:"created,omitempty"`
	Updated     *time.Time `json:"updated,omitempty"`
	Deactivated bool       `json:"deactivated,omitzero"`
	VersionID   string     `json:"versionId,omitempty"`
	NextUpdate  *time.Time `json:"nextUpdate,omitempty"`
}

// ResolutionMetadata is the DID resolution metadata (DID Core §7.1.2).
// Error is a W3C error name such as "notFound"; the Go error returned next
// to the Resolution carries our stable code.
type ResolutionMetadata struct {
	ContentType string `json:"contentType,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Resolver resolves a DID. Implementations return either a Resolution with
// a document and a nil error, or an *errs.Error (with one of the codes of
// this package) and, where useful, a Resolution whose ResolutionMetadata.Error
// is set. A deactivated DID returns its Resolution with
// DocumentMetadata.Deactivated and ErrDeactivated, so callers fail closed.
type Resolver interface {
	Resolve(ctx context.Context, did string, opts ResolveOptions) (*Resolution, error)
}

// Router sends each DID to the resolver of its method. Adding a method is
// one line: router.Handle("ssi", registryResolver). A Router is safe for
// concurrent Resolve calls once wiring is done; Handle is not meant to be
// called concurrently with Resolve.
type Router struct {
	methods map[string]Resolver
}

var _ Resolver = (*Router)(nil)

// NewRouter returns a Router with no methods.
func NewRouter() *Router { return &Router{methods: map[string]Resolver{}} }

// Handle routes method (e.g. "key", "web") to r, replacing any earlier
// resolver for it, and returns the Router so calls can be chained.
func (rt *Router) Handle(method string, r Resolver) *Router {
	rt.methods[method] = r
	return rt
}

// Resolve parses did (a DID, not a DID URL), checks the representation,
// calls the method's resolver and checks that the document it returns is
// the document of did. It always returns a non-nil Resolution whose
// ResolutionMetadata.Error names the W3C error when err is not nil.
// Outcomes: invalid_did, method_not_supported, representation_not_supported,
// did_not_found, did_deactivated, invalid_did_document, did_resolution_failed,
// or whatever typed error the method returns.
func (rt *Router) Resolve(ctx context.Context, did string, opts ResolveOptions) (*Resolution, error) {
	fail := func(res *Resolution, err error) (*Resolution, error) {
		if res == nil {
			res = &Resolution{}
		}
		res.ResolutionMetadata.Error = ResolutionErrorName(err)
		return res, err
	}
	d, err := Parse(did)
	if err != nil {
		return fail(nil, err)
	}
	contentType, ok := representation(opts.Accept)
	if !ok {
		return fail(nil, ErrRepresentationNotSupported)
	}
	m, ok := rt.methods[d.Method]
	if !ok {
		return fail(nil, ErrMethodNotSupported)
	}
	res, err := m.Resolve(ctx, d.String(), opts)
	if err != nil {
		if errs.CodeOf(err) == "" {
			err = ErrResolutionFailed.With("", err)
		}
		return fail(res, fmt.Errorf("resolving did:%s: %w", d.Method, err))
	}
	if res == nil || res.Document == nil {
		return fail(res, ErrNotFound)
	}
	if res.Document.ID != d.String() {
		return fail(res, ErrInvalidDocument.With("the document id is not the resolved DID", nil))
	}
	if res.DocumentMetadata.Deactivated {
		return fail(res, ErrDeactivated)
	}
	res.ResolutionMetadata.ContentType = contentType
	return res, nil
}

func representation(accept string) (string, bool) {
	switch accept {
	case "", MediaTypeDIDJSON:
		return MediaTypeDIDJSON, true
	case MediaTypeDIDLDJSON:
		return MediaTypeDIDLDJSON, true
	}
	return "", false
}

// ResolutionErrorName maps an error to its W3C DID Resolution error name:
// invalidDid, notFound, methodNotSupported, representationNotSupported,
// deactivated (our name for a refused deactivated DID; DID Core reports it in
// the document metadata) or internalError for anything else. nil maps to "".
func ResolutionErrorName(err error) string {
	if err == nil {
		return ""
	}
	// The outermost code decides: an invalid document may wrap the
	// invalid_did of its id, and must still be reported as a bad document.
	switch errs.CodeOf(err) {
	case ErrInvalidDID.Code:
		return "invalidDid"
	case ErrNotFound.Code:
		return "notFound"
	case ErrMethodNotSupported.Code:
		return "methodNotSupported"
	case ErrRepresentationNotSupported.Code:
		return "representationNotSupported"
	case ErrDeactivated.Code:
		return "deactivated"
	case ErrInvalidDocument.Code:
		return "invalidDidDocument"
	}
	return "internalError"
}

// parseMethod parses did and checks that its method is method, for the
// method resolvers, which may also be called without the Router.
func parseMethod(did, method string) (DID, error) {
	d, err := Parse(did)
	if err != nil {
		return DID{}, err
	}
	if d.Method != method {
		return DID{}, ErrMethodNotSupported
	}
	return d, nil
}
