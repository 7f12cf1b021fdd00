package trust

import (
	"slices"
	"time"
)

// The registry's records: accreditations and relying-party registrations.
// Each version is stored by the registry and anchored (its SHA-256, under
// its record URL); the decisions below are computed from verified record
// versions, by the registry and by a client alike, with the same code.

// Accreditation states.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
	// StatusOutsideValidity is the status of a decision whose deciding
	// accreditation was active but not valid at the instant asked.
	StatusOutsideValidity = "outside_validity"
)

// Accreditation says that an issuer DID may issue credentials of the listed
// types (vct) within a validity window. Each change is a new version.
type Accreditation struct {
	ID          string    `json:"id"`
	Version     uint64    `json:"version"`
	Issuer      string    `json:"issuer"`
	VCT         []string  `json:"vct"`
	ValidFrom   time.Time `json:"valid_from"`
	ValidUntil  time.Time `json:"valid_until"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	Operator    string    `json:"operator"`
	EffectiveAt time.Time `json:"effective_at"`
}

// Registration states.
const (
	RPPending  = "pending"
	RPApproved = "approved"
	RPRejected = "rejected"
	RPRevoked  = "revoked"
)

// RPCredential is what a relying party may request of one credential type.
type RPCredential struct {
	VCT           string   `json:"vct"`
	Claims        []string `json:"claims"`
	Purpose       string   `json:"purpose"`
	RetentionDays int      `json:"retention_days"`
}

// RPRegistration registers a verifier DID with what it may request and why.
// A venue operator submits it with a proof of control of the DID (Control);
// a registry operator approves it. A registration without Control was made
// before control proofs existed: it allows nothing, cannot be approved, and
// its venue registers again with a proof (docs/relying-parties.md).
type RPRegistration struct {
	ID          string         `json:"id"`
	Version     uint64         `json:"version"`
	Verifier    string         `json:"verifier"`
	Name        string         `json:"name"`
	Credentials []RPCredential `json:"credentials"`
	Status      string         `json:"status"`
	Reason      string         `json:"reason,omitempty"`
	Tenant      string         `json:"tenant"` // the venue operator that registered it
	DecidedBy   string         `json:"decided_by,omitempty"`
	EffectiveAt time.Time      `json:"effective_at"`
	Control     *RPControl     `json:"control,omitempty"`
}

// RPControl records on a registration that its tenant proved control of
// the verifier DID: by whom, with which verification method, when, and the
// proof itself, so that anyone who reads the anchored record can verify it
// again against the DID's document (VerifyRecordedControl).
type RPControl struct {
	Tenant   string    `json:"tenant"`
	KeyID    string    `json:"kid"`
	ProvenAt time.Time `json:"proven_at"`
	Proof    string    `json:"proof"`
}

// Proven reports whether r claims a proof of control by its own tenant.
// It does not verify the proof (VerifyRecordedControl does).
func (r *RPRegistration) Proven() bool { return r.Control != nil && r.Control.Tenant == r.Tenant }

// AccreditationDecision answers "was Issuer accredited for VCT at At?".
// Reason is a stable code when Accredited is false (not_accredited).
type AccreditationDecision struct {
	Accredited      bool      `json:"accredited"`
	Reason          string    `json:"reason,omitempty"`
	Issuer          string    `json:"issuer"`
	VCT             string    `json:"vct"`
	At              time.Time `json:"at"`
	AccreditationID string    `json:"accreditation_id,omitempty"`
	// Status is the status of the deciding accreditation at At, or
	// outside_validity.
	Status string `json:"status,omitempty"`
}

// RPDecision answers "may Verifier request these claims of VCT?". Reason
// is a stable code when Within is false: not_registered (no counting
// registration for the vct), over_asking (Excess names the requested
// claims the closest registration does not allow).
type RPDecision struct {
	Within         bool     `json:"within"`
	Reason         string   `json:"reason,omitempty"`
	Verifier       string   `json:"verifier"`
	VCT            string   `json:"vct"`
	RegistrationID string   `json:"registration_id,omitempty"`
	Name           string   `json:"name,omitempty"`
	Purpose        string   `json:"purpose,omitempty"`
	RetentionDays  int      `json:"retention_days,omitempty"`
	Excess         []string `json:"excess,omitempty"`
}

// Reasons of negative decisions.
const (
	ReasonNotAccredited   = "not_accredited"
	ReasonNotRegistered   = "not_registered"   // no registration of the verifier lists the vct
	ReasonNotApproved     = "not_approved"     // one lists it but is not approved
	ReasonControlUnproven = "control_unproven" // an approved one lists it, but control of the DID is not proven
	ReasonOverAsking      = "over_asking"      // a counting one lists it, without every claim asked
)

// InForceAt returns, of the versions given (of any accreditations, in any
// order), the version of each accreditation in force at t: its highest
// version effective at or before t. The result is ordered by ID.
func InForceAt(versions []Accreditation, t time.Time) []Accreditation {
	byID := map[string]Accreditation{}
	for _, a := range versions {
		if a.EffectiveAt.After(t) {
			continue
		}
		if cur, ok := byID[a.ID]; !ok || a.Version > cur.Version {
			byID[a.ID] = a
		}
	}
	out := make([]Accreditation, 0, len(byID))
	for _, a := range byID {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Accreditation) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// AccreditedAt decides whether issuer was accredited for vct at t, from
// the versions of issuer's accreditations (InForceAt picks the one of each
// in force at t, so the answer for a past instant does not change when an
// accreditation is revoked later). An active accreditation of issuer that
// lists vct and whose window [ValidFrom, ValidUntil) holds t decides yes;
// otherwise the last one that lists vct explains the no. Versions of
// another issuer are ignored.
func AccreditedAt(versions []Accreditation, issuer, vct string, t time.Time) AccreditationDecision {
	d := AccreditationDecision{Issuer: issuer, VCT: vct, At: t.UTC(), Reason: ReasonNotAccredited}
	for _, acc := range InForceAt(versions, t) {
		if acc.Issuer != issuer || !slices.Contains(acc.VCT, vct) {
			continue
		}
		within := !t.Before(acc.ValidFrom) && t.Before(acc.ValidUntil)
		if acc.Status == StatusActive && within {
			d.Accredited, d.Reason, d.AccreditationID, d.Status = true, "", acc.ID, acc.Status
			return d
		}
		d.AccreditationID, d.Status = acc.ID, acc.Status
		if !within {
			d.Status = StatusOutsideValidity
		}
	}
	return d
}

// RPAllows decides whether an approved registration of verifier allows
// every claim in claims for vct, from the latest version of each of
// verifier's registrations. Only approved registrations that claim a
// control proof by their own tenant (Proven) and for which control (when
// not nil) accepts the proof count; one without a control proof (made
// before proofs existed) allows nothing. Registrations of another verifier
// are ignored. A negative decision names the closest miss (Reason, by
// precedence over_asking, control_unproven, not_approved,
// not_registered) and, for over_asking, the claims outside the closest
// registration (Excess) so the wallet can tell the citizen.
func RPAllows(latest []RPRegistration, verifier, vct string, claims []string, control func(*RPRegistration) error) RPDecision {
	d := RPDecision{Verifier: verifier, VCT: vct, Reason: ReasonNotRegistered, Excess: claims}
	rank := map[string]int{ReasonNotRegistered: 0, ReasonNotApproved: 1, ReasonControlUnproven: 2, ReasonOverAsking: 3}
	miss := func(reason string, r *RPRegistration) {
		if rank[reason] > rank[d.Reason] {
			d.Reason, d.RegistrationID, d.Name = reason, r.ID, r.Name
		}
	}
	for i := range latest {
		r := &latest[i]
		j := slices.IndexFunc(r.Credentials, func(c RPCredential) bool { return c.VCT == vct })
		if r.Verifier != verifier || j < 0 {
			continue
		}
		switch {
		case r.Status != RPApproved:
			miss(ReasonNotApproved, r)
			continue
		case !r.Proven() || (control != nil && control(r) != nil):
			miss(ReasonControlUnproven, r)
			continue
		}
		c := r.Credentials[j]
		var excess []string
		for _, cl := range claims {
			if !slices.Contains(c.Claims, cl) {
				excess = append(excess, cl)
			}
		}
		if len(excess) == 0 {
			return RPDecision{Within: true, Verifier: verifier, VCT: vct, RegistrationID: r.ID, Name: r.Name,
				Purpose: c.Purpose, RetentionDays: c.RetentionDays}
		}
		if d.Reason != ReasonOverAsking || len(excess) < len(d.Excess) {
			d.Reason, d.RegistrationID, d.Name, d.Excess = ReasonOverAsking, r.ID, r.Name, excess
		}
	}
	return d
}
