package passcheck

import "github.com/ssi-project/ssi/internal/errs"

// Codes of this package. The policy_* codes are verdict reasons for a
// genuine pass that the venue's policy refuses.
var (
	// ErrUnknownFormat: the text is none of SSI1:, HC1:, shc:/.
	ErrUnknownFormat = errs.E(errs.Invalid, "pass_unknown_format", "the QR code is not a pass this venue reads")
	// ErrSSIEnvelope: the text is our own offline envelope, which the
	// verifier checks (the caller routes it there; see CheckSSIClaims).
	ErrSSIEnvelope = errs.E(errs.Invalid, "pass_ssi_envelope", "the pass is an ssi offline presentation; the verifier checks it")
	// ErrPolicy: the policy file is malformed.
	ErrPolicy = errs.E(errs.Invalid, "pass_bad_policy", "the pass policy file is malformed")

	// ErrNoVaccination: the pass holds no (completed) vaccination: a
	// DCC test or recovery certificate, or a card without a completed
	// Immunization.
	ErrNoVaccination = errs.E(errs.Invalid, "policy_no_vaccination", "the pass holds no vaccination")
	// ErrProduct: no vaccination with a product the policy accepts.
	ErrProduct = errs.E(errs.Invalid, "policy_product_not_accepted", "the vaccine product is not accepted")
	// ErrSeries: a DCC vaccination whose dose number is below the
	// series' total (dn < sd).
	ErrSeries = errs.E(errs.Invalid, "policy_series_incomplete", "the vaccination series is not complete")
	// ErrTooRecent: the dose is more recent than the policy's minimum age.
	ErrTooRecent = errs.E(errs.Invalid, "policy_dose_too_recent", "the vaccination is too recent")
	// ErrTooOld: the dose is older than the policy's window.
	ErrTooOld = errs.E(errs.Invalid, "policy_dose_too_old", "the vaccination is older than the policy window")
	// ErrNotVaccinated: our own pass does not disclose
	// vaccinated_within_policy == true.
	ErrNotVaccinated = errs.E(errs.Invalid, "policy_not_vaccinated", "the pass does not show a vaccination within the policy")
)
