package dcql

import (
	"strconv"

	"github.com/ssi-project/ssi/internal/errs"
)

// Refusals of Parse and FromValue: each is one MUST of OpenID4VP 1.0 §6–7
// (or one of the limits below). The detail locates the fault by the
// position of the member ("credentials[1].claims[0].path[2]"), never by
// quoting the input. At an OpenID4VP endpoint they all render as
// invalid_request; inside ssi the code says which rule was broken. The
// JSON gate's own codes (malformed_json, json_too_deep, invalid_utf8) come
// through unchanged.
var (
	// ErrLimit: a limit against hostile input (size, counts, lengths). Its
	// cause is a *LimitError naming the limit.
	ErrLimit = errs.E(errs.Invalid, "dcql_limit_exceeded", "the DCQL query exceeds a limit")
	// ErrWrongType: a member, or the query itself, has the wrong JSON type.
	ErrWrongType = errs.E(errs.Invalid, "dcql_wrong_type", "a DCQL member has the wrong type")
	// ErrMissing: a REQUIRED member is absent (credentials, id, format,
	// meta, path, options, meta.vct_values of dc+sd-jwt, type and values
	// of a trusted authority).
	ErrMissing = errs.E(errs.Invalid, "dcql_missing_member", "a required DCQL member is missing")
	// ErrEmpty: an array the spec requires to be non-empty is empty.
	ErrEmpty = errs.E(errs.Invalid, "dcql_empty_array", "a DCQL array that must not be empty is empty")
	// ErrInvalidID: a credential or claim id is empty or has a character
	// other than ASCII alphanumerics, '_' and '-'.
	ErrInvalidID = errs.E(errs.Invalid, "dcql_invalid_id", "a DCQL id has a character outside [A-Za-z0-9_-] or is empty")
	// ErrDuplicateID: two credential queries, or two claims of one
	// credential query, have the same id.
	ErrDuplicateID = errs.E(errs.Invalid, "dcql_duplicate_id", "a DCQL id is used twice")
	// ErrDuplicateClaim: two claims queries of one credential query point
	// to the same claim (the same path).
	ErrDuplicateClaim = errs.E(errs.Invalid, "dcql_duplicate_claim", "a credential query points to the same claim twice")
	// ErrMissingClaimID: a claims query has no id although claim_sets is
	// present.
	ErrMissingClaimID = errs.E(errs.Invalid, "dcql_missing_claim_id", "claims need ids when claim_sets is present")
	// ErrClaimSetsWithoutClaims: claim_sets is present and claims is not.
	ErrClaimSetsWithoutClaims = errs.E(errs.Invalid, "dcql_claim_sets_without_claims", "claim_sets is present without claims")
	// ErrUnknownClaimID: a claim set names an id that no claims query has.
	ErrUnknownClaimID = errs.E(errs.Invalid, "dcql_unknown_claim_id", "a claim set names a claim id the credential query does not have")
	// ErrUnknownCredentialID: a credential set option names an id that no
	// credential query has.
	ErrUnknownCredentialID = errs.E(errs.Invalid, "dcql_unknown_credential_id", "a credential set names a credential query id that does not exist")
	// ErrInvalidPath: a claims path component is not a string, null or a
	// non-negative integer.
	ErrInvalidPath = errs.E(errs.Invalid, "dcql_invalid_path", "a claims path component is not a string, null or a non-negative integer")
	// ErrInvalidValue: an element of values is not a string, an integer or
	// a boolean.
	ErrInvalidValue = errs.E(errs.Invalid, "dcql_invalid_value", "a claim value is not a string, an integer or a boolean")
	// ErrInvalidFormat: format is the empty string.
	ErrInvalidFormat = errs.E(errs.Invalid, "dcql_invalid_format", "a credential format identifier is empty")
	// ErrInvalidString: a string that names something (a vct, a trusted
	// authority type or value) is empty or holds a control character, or an
	// aki value is not base64url.
	ErrInvalidString = errs.E(errs.Invalid, "dcql_invalid_string", "a DCQL string is empty, has a control character or is not in its encoding")
)

// Outcomes of claims path processing (§7.1.1), from Select.
var (
	// ErrPathNoMatch: the path selected nothing (step 3).
	ErrPathNoMatch = errs.E(errs.Invalid, "dcql_path_no_match", "the claims path selects no claim")
	// ErrPathTypeMismatch: a component met an element of the wrong type (a
	// name on a non-object, null or an index on a non-array).
	ErrPathTypeMismatch = errs.E(errs.Invalid, "dcql_path_type_mismatch", "the claims path meets an element of the wrong type")
)

// Refusals of Query.Match: the response does not satisfy the query. The
// first three are faults of the VP Token as a whole (§8.1); the next four
// are why a single presentation was discarded (§8.6, recorded in
// Result.Discarded); the last two are the query left unsatisfied.
var (
	ErrUnexpectedCredential     = errs.E(errs.Invalid, "dcql_unexpected_credential", "the response has an entry for a credential query the request does not have")
	ErrEmptyEntry               = errs.E(errs.Invalid, "dcql_empty_entry", "the response has an entry with no presentation")
	ErrTooManyPresentations     = errs.E(errs.Invalid, "dcql_too_many_presentations", "the response has more than one presentation for a credential query that allows one")
	ErrFormatMismatch           = errs.E(errs.Invalid, "dcql_format_mismatch", "a presentation is not of the requested format")
	ErrVCTMismatch              = errs.E(errs.Invalid, "dcql_vct_mismatch", "a presentation is not of a requested credential type")
	ErrHolderBindingRequired    = errs.E(errs.Invalid, "dcql_holder_binding_required", "a presentation has no proof of holder binding although one is required")
	ErrClaimsUnsatisfied        = errs.E(errs.Invalid, "dcql_claims_unsatisfied", "a presentation lacks requested claims or their requested values")
	ErrCredentialMissing        = errs.E(errs.Invalid, "dcql_credential_missing", "the response has no matching presentation for a requested credential")
	ErrCredentialSetUnsatisfied = errs.E(errs.Invalid, "dcql_credential_set_unsatisfied", "the response satisfies no option of a required credential set")
	// ErrUnsupportedFormat: from CheckFormats, a credential query asks for
	// a format the caller does not support.
	ErrUnsupportedFormat = errs.E(errs.Invalid, "dcql_unsupported_format", "a credential query asks for an unsupported format")
)

// ErrOverAsking: from CheckAllowed, the query asks for a credential type or
// a claim beyond what the relying party's registration allows. The verifier
// refuses such a policy at start-up; the holder refuses such a request.
var ErrOverAsking = errs.E(errs.Forbidden, "over_asking", "the request asks for claims beyond the relying party's registration")

// Limit names one limit against hostile input.
type Limit string

// The limits. The values are a generous multiple of what real queries use
// (a PID query asks for about 30 claims of one credential); beyond them a
// query is refused before any work proportional to its size is done twice.
const (
	LimitQuerySize         Limit = "query_size"          // bytes of JSON: MaxQuerySize
	LimitCredentials       Limit = "credentials"         // credential queries: MaxCredentials
	LimitClaims            Limit = "claims"              // claims per credential query: MaxClaims
	LimitPathLength        Limit = "path_length"         // components per path: MaxPathLength
	LimitPathIndex         Limit = "path_index"          // an integer component: MaxPathIndex
	LimitValues            Limit = "values"              // values per claims query: MaxValues
	LimitClaimSets         Limit = "claim_sets"          // options of claim_sets: MaxClaimSets
	LimitClaimSetSize      Limit = "claim_set_size"      // ids per claim set: MaxClaims
	LimitCredentialSets    Limit = "credential_sets"     // credential set queries: MaxCredentialSets
	LimitOptions           Limit = "options"             // options per credential set: MaxOptions
	LimitOptionSize        Limit = "option_size"         // ids per option: MaxCredentials
	LimitVCTValues         Limit = "vct_values"          // meta.vct_values: MaxVCTValues
	LimitTrustedAuthority  Limit = "trusted_authorities" // trusted authorities per query: MaxTrustedAuthorities
	LimitAuthorityValues   Limit = "authority_values"    // values per trusted authority: MaxAuthorityValues
	LimitStringLength      Limit = "string_length"       // bytes of any string: MaxStringLength
	LimitIDLength          Limit = "id_length"           // bytes of an id: MaxIDLength
	LimitPresentationCount Limit = "presentations"       // presentations in a response: MaxPresentations
)

// The limits' values.
const (
	MaxQuerySize          = 32 << 10
	MaxCredentials        = 32
	MaxClaims             = 64
	MaxPathLength         = 16
	MaxPathIndex          = 1 << 16
	MaxValues             = 32
	MaxClaimSets          = 32
	MaxCredentialSets     = 32
	MaxOptions            = 32
	MaxVCTValues          = 32
	MaxTrustedAuthorities = 16
	MaxAuthorityValues    = 32
	MaxStringLength       = 1024
	MaxIDLength           = 128
	MaxPresentations      = 64
)

// LimitError is the cause of an ErrLimit refusal: which limit, and its value.
type LimitError struct {
	Limit Limit
	Max   int
}

func (e *LimitError) Error() string {
	return "limit " + string(e.Limit) + " of " + strconv.Itoa(e.Max) + " exceeded"
}

// limit returns ErrLimit for l at the member at.
func limit(l Limit, maxV int, at string) error {
	return ErrLimit.With(at+": over the limit of "+strconv.Itoa(maxV)+" ("+string(l)+")", &LimitError{Limit: l, Max: maxV})
}

// at returns sentinel with a detail that locates the fault at the member at.
func at(sentinel *errs.Error, where, what string) error {
	return sentinel.With(where+": "+what, nil)
}
