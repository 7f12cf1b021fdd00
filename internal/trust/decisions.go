package trust

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/jsonx"
)

// AccreditationDecision answers "was issuer accredited for vct at At?".
// Reason is a stable code when Accredited is false.
type AccreditationDecision struct {
	Accredited      bool
	Reason          string
	Issuer, VCT     string
	At              time.Time
	AccreditationID string
	Status          string // of the deciding accreditation at At
}

// RPDecision answers "may verifier request claims of vct?". Reason is a
// stable code when Within is false; Excess names the requested claims the
// closest registration does not allow.
type RPDecision struct {
	Within                                       bool
	Reason                                       string
	Verifier, VCT, RegistrationID, Name, Purpose string
	RetentionDays                                int
	Excess                                       []string
}

// Reasons of negative decisions.
const (
	ReasonNotAccredited = "not_accredited"
	ReasonNotRegistered = "not_registered"
	ReasonOverAsking    = "over_asking"
)

// IsAccredited asks the registry whether issuer was accredited for vct at
// at.
//
// Not yet proven: this still takes the registry's decision on its word
// (the records it rests on and their anchors are not checked); issue 14
// step 2 makes it recompute the decision from anchored records.
func (c *Client) IsAccredited(ctx context.Context, issuer, vct string, at time.Time) (AccreditationDecision, error) {
	q := url.Values{"issuer": {issuer}, "vct": {vct}, "at": {at.UTC().Format(time.RFC3339Nano)}}
	var w struct {
		Accredited      bool      `json:"accredited"`
		Issuer          string    `json:"issuer"`
		VCT             string    `json:"vct"`
		At              time.Time `json:"at"`
		AccreditationID string    `json:"accreditation_id"`
		Status          string    `json:"status"`
	}
	if err := c.getJSON(ctx, "/registry/v1/trust/issuers?"+q.Encode(), &w); err != nil {
		return AccreditationDecision{}, err
	}
	d := AccreditationDecision{Accredited: w.Accredited, Issuer: issuer, VCT: vct, At: at.UTC(),
		AccreditationID: w.AccreditationID, Status: w.Status}
	if !d.Accredited {
		d.Reason = ReasonNotAccredited
	}
	return d, nil
}

// CheckRP asks the registry whether verifier may request claims of vct.
//
// Not yet proven: this still takes the registry's decision on its word;
// issue 14 step 2 makes it recompute the decision from anchored records.
func (c *Client) CheckRP(ctx context.Context, verifier, vct string, claims []string) (RPDecision, error) {
	q := url.Values{"verifier": {verifier}, "vct": {vct}, "claims": {strings.Join(claims, ",")}}
	var w struct {
		Within         bool     `json:"within"`
		RegistrationID string   `json:"registration_id"`
		Purpose        string   `json:"purpose"`
		RetentionDays  int      `json:"retention_days"`
		Excess         []string `json:"excess"`
	}
	if err := c.getJSON(ctx, "/registry/v1/trust/relying-parties?"+q.Encode(), &w); err != nil {
		return RPDecision{}, err
	}
	d := RPDecision{Within: w.Within, Verifier: verifier, VCT: vct, RegistrationID: w.RegistrationID,
		Purpose: w.Purpose, RetentionDays: w.RetentionDays, Excess: w.Excess}
	switch {
	case d.Within:
	case d.RegistrationID == "":
		d.Reason = ReasonNotRegistered
	default:
		d.Reason = ReasonOverAsking
	}
	return d, nil
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	status, _, b, err := c.get(ctx, path, "application/json")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return problemError(status, b)
	}
	if err := jsonx.Unmarshal(b, v, false); err != nil {
		return ErrRegistry.With("the registry's answer does not parse", err)
	}
	return nil
}
