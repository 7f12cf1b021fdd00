package verifier

import (
	"context"

	"github.com/ssi-project/ssi/internal/passcheck"
)

// offlinePass checks an EU DCC (HC1:) or a SMART Health Card (shc:/) shown
// at venue v with internal/passcheck, against the venue's Passes trust
// and the policy's Vaccination rule, at the service's clock. A text that
// does not decode is refused with its code, as an envelope that does not
// decode is (a 4xx, nothing stored); otherwise the answer is the verdict
// document with format and holder (name and birth date, only for a
// genuine pass). Nothing of the pass is stored or logged. A venue without
// Passes refuses these texts (unsupported_pass_format).
func (s *Service) offlinePass(ctx context.Context, v *Venue, p *Policy, text string) (*Verdict, error) {
	if v.Passes == nil {
		return nil, ErrUnsupportedFormat
	}
	pv := passcheck.Check(text, *v.Passes, p.Vaccination, s.now())
	if pv.Unreadable() {
		return nil, pv.Refusal()
	}
	s.log.InfoContext(ctx, "offline pass checked", "tenant", v.TenantID, "policy", p.Name, "format", pv.Format, "verdict", pv.Verdict, "reasons", pv.Reasons)
	return &Verdict{Verdict: pv.Verdict, Reasons: pv.Reasons, Format: pv.Format, Holder: pv.Holder}, nil
}
