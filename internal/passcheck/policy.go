package passcheck

import (
	"slices"
	"time"

	"github.com/ssi-project/ssi/internal/dcc"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/shc"
)

// Policy is a venue's vaccination rule: a dose of an accepted product
// given between MinDays and MaxDays days before the scan.
type Policy struct {
	// MinDays: a dose counts from this many days after it was given
	// (14 is common).
	MinDays int `json:"min_days_since_dose"`
	// MaxDays: a dose stops counting after this many days; 0 means never.
	MaxDays int `json:"max_days_since_dose"`
	// Products lists the accepted vaccines: for the EU DCC the medicinal
	// product (mp, e.g. "EU/1/20/1528"), for SMART Health Cards a
	// "system|code" coding (e.g. "http://hl7.org/fhir/sid/cvx|208").
	// Empty accepts every product.
	Products []string `json:"accepted_products"`
}

// ParsePolicy reads a policy file, for example
//
//	{"min_days_since_dose":14,"max_days_since_dose":365,
//	 "accepted_products":["EU/1/20/1528","http://hl7.org/fhir/sid/cvx|208"]}
//
// Unknown members, negative days and a MaxDays below MinDays are refused
// (pass_bad_policy).
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	if err := jsonx.Unmarshal(data, &p, true); err != nil {
		return nil, ErrPolicy.With("the policy does not decode", err)
	}
	if p.MinDays < 0 || p.MaxDays < 0 || (p.MaxDays != 0 && p.MaxDays < p.MinDays) {
		return nil, ErrPolicy.With("the policy window is empty or negative", nil)
	}
	return &p, nil
}

func (p *Policy) accepts(product string) bool {
	return len(p.Products) == 0 || slices.Contains(p.Products, product)
}

// window checks a dose given on date (FHIR/ISO date, possibly a dateTime)
// against the window at time at.
func (p *Policy) window(date string, at time.Time) error {
	if len(date) < 10 {
		return ErrNoVaccination.With("a dose has no full date", nil)
	}
	d, err := time.Parse(time.DateOnly, date[:10])
	if err != nil {
		return ErrNoVaccination.With("a dose has no valid date", nil)
	}
	y, m, day := at.UTC().Date()
	days := int(time.Date(y, m, day, 0, 0, 0, 0, time.UTC).Sub(d).Hours() / 24)
	switch {
	case days < p.MinDays:
		return ErrTooRecent
	case p.MaxDays != 0 && days > p.MaxDays:
		return ErrTooOld
	}
	return nil
}

// applyDCC applies p to a verified DCC.
func (p *Policy) applyDCC(c *dcc.Certificate, at time.Time) error {
	v := c.Vaccination
	if v == nil {
		return ErrNoVaccination
	}
	if !p.accepts(v.Product) {
		return ErrProduct
	}
	if v.DoseNumber < v.TotalDoses {
		return ErrSeries
	}
	return p.window(v.Date, at)
}

// applySHC applies p to a verified card: green when one completed
// Immunization of an accepted product is inside the window. Otherwise the
// reason is about the best candidate: no completed Immunization, no
// accepted product, or the newest accepted dose's window refusal.
func (p *Policy) applySHC(c *shc.Card, at time.Time) error {
	var last error = ErrNoVaccination
	for _, im := range c.Immunizations {
		if im.Status != "completed" {
			continue
		}
		accepted := len(p.Products) == 0
		for _, code := range im.Codes {
			accepted = accepted || p.accepts(code.System+"|"+code.Code)
		}
		if !accepted {
			if errs.CodeOf(last) == ErrNoVaccination.Code {
				last = ErrProduct
			}
			continue
		}
		err := p.window(im.Date, at)
		if err == nil {
			return nil
		}
		// Prefer "too recent" (it will become green) over "too old".
		if errs.CodeOf(last) != ErrTooRecent.Code {
			last = err
		}
	}
	return last
}
