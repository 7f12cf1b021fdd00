package passcheck

import (
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/dcc"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/shc"
)

// Verdict values and formats.
const (
	Green = "green"
	Red   = "red"

	FormatSSI = "ssi"
	FormatDCC = "eu-dcc"
	FormatSHC = "shc"
)

// Verdict is the one answer document for every pass.
type Verdict struct {
	Verdict string   `json:"verdict"`
	Format  string   `json:"format,omitempty"` // empty when the format is unknown
	Reasons []string `json:"reasons"`
	Holder  *Holder  `json:"holder,omitempty"`

	err error // the refusal, for Refusal
}

// Refusal returns the error behind a red verdict (an *errs.Error with the
// reason's code, for an endpoint that answers an unreadable text with a
// problem document), or nil when green.
func (v Verdict) Refusal() error { return v.err }

// Holder is all a verdict shows of the person.
type Holder struct {
	Name      string `json:"name"`
	BirthDate string `json:"birth_date"`
}

// TrustSet is the offline trust of a venue: the DSCs for EU DCCs and the
// SMART Health Card issuers. A nil member trusts nothing of that format.
type TrustSet struct {
	DCC *dcc.Trust
	SHC *shc.Trust

	sources *TrustSources // what Load parsed, for Sources
}

// Sources returns the files a TrustSources.Load parsed into t (for the
// offline trust bundle, which carries them to the venue page), or an empty
// TrustSources for a set built otherwise.
func (t TrustSet) Sources() TrustSources {
	if t.sources == nil {
		return TrustSources{}
	}
	return *t.sources
}

// Check reads text, dispatching on its prefix, and answers a verdict:
//   - "HC1:": an EU DCC (internal/dcc) at time at;
//   - "shc:/": a SMART Health Card (internal/shc) at time at;
//   - "SSI1:" (any SSI<n>:): our envelope, which the verifier checks:
//     red, format ssi, reason pass_ssi_envelope, so the caller can route it
//     (and then call CheckSSIClaims);
//   - anything else: red, no format, pass_unknown_format.
//
// A refusal of the pass is red with its code as the one reason. A genuine
// pass is then held to policy when policy is not nil (a policy_* reason
// when it fails) and shows its holder either way. Check never panics and
// keeps nothing.
func Check(text string, trust TrustSet, policy *Policy, at time.Time) Verdict {
	switch {
	case strings.HasPrefix(text, dcc.Prefix):
		c, err := dcc.Verify(text, trust.DCC, at)
		if err != nil {
			return red(FormatDCC, err)
		}
		h := &Holder{Name: c.Name.Full(), BirthDate: c.DateOfBirth}
		if policy != nil {
			if err := policy.applyDCC(c, at); err != nil {
				return redHolder(FormatDCC, err, h)
			}
		}
		return green(FormatDCC, h)
	case strings.HasPrefix(text, shc.Prefix):
		c, err := shc.Verify(text, trust.SHC, at)
		if err != nil {
			return red(FormatSHC, err)
		}
		h := &Holder{Name: c.Patient.FullName(), BirthDate: c.Patient.BirthDate}
		if policy != nil {
			if err := policy.applySHC(c, at); err != nil {
				return redHolder(FormatSHC, err, h)
			}
		}
		return green(FormatSHC, h)
	case IsSSI(text):
		return red(FormatSSI, ErrSSIEnvelope)
	}
	return red("", ErrUnknownFormat)
}

// IsSSI reports whether text is our offline envelope (SSI1:, or another
// version of it), which the verifier checks rather than Check.
func IsSSI(text string) bool {
	v, _, ok := strings.Cut(text, ":")
	n, isOurs := strings.CutPrefix(v, strings.TrimSuffix(qr.Prefix, "1:"))
	return ok && isOurs && n != "" && strings.Trim(n, "0123456789") == ""
}

// CheckSSIClaims answers the verdict for one of our own SD-JWT passes
// after the verifier has verified its presentation: claims are the
// disclosed claims. The holder is given_name family_name and birth_date
// as far as disclosed (nil when none is). With a policy the pass must disclose
// vaccinated_within_policy == true (the issuer applied the same window
// and products when it issued it), else policy_not_vaccinated.
func CheckSSIClaims(claims map[string]any, policy *Policy) Verdict {
	str := func(k string) string { s, _ := claims[k].(string); return s }
	h := &Holder{Name: strings.TrimSpace(str("given_name") + " " + str("family_name")), BirthDate: str("birth_date")}
	if *h == (Holder{}) {
		h = nil // neither disclosed
	}
	if policy != nil {
		if v, _ := claims["vaccinated_within_policy"].(bool); !v {
			return redHolder(FormatSSI, ErrNotVaccinated, h)
		}
	}
	return green(FormatSSI, h)
}

// Unreadable reports whether the verdict refused the text before any
// check of the pass itself: an unknown format, or a text that does not
// decode (prefix, Base45, compression, CBOR/COSE, numeric, JWS and payload
// structure). The command exits 2 for these, 1 for other red verdicts.
func (v Verdict) Unreadable() bool {
	return len(v.Reasons) == 1 && unreadable[v.Reasons[0]]
}

var unreadable = map[string]bool{
	ErrUnknownFormat.Code: true,
	"qr_base45_character": true, "qr_base45_overflow": true, "qr_invalid_base45": true,
	dcc.ErrPrefix.Code: true, dcc.ErrTooLarge.Code: true, dcc.ErrZlib.Code: true,
	dcc.ErrCBOR.Code: true, dcc.ErrCOSE.Code: true, dcc.ErrAlg.Code: true, dcc.ErrClaims.Code: true,
	shc.ErrPrefix.Code: true, shc.ErrChunked.Code: true, shc.ErrNumeric.Code: true,
	shc.ErrTooLarge.Code: true, shc.ErrJWS.Code: true, shc.ErrHeader.Code: true,
	shc.ErrDeflate.Code: true, shc.ErrPayload.Code: true,
}

func green(format string, h *Holder) Verdict {
	return Verdict{Verdict: Green, Format: format, Reasons: []string{}, Holder: h}
}

func red(format string, err error) Verdict {
	return redHolder(format, err, nil)
}

func redHolder(format string, err error, h *Holder) Verdict {
	code := errs.CodeOf(err)
	if code == "" {
		code = "internal"
	}
	return Verdict{Verdict: Red, Format: format, Reasons: []string{code}, Holder: h, err: err}
}
