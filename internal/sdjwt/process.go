package sdjwt

import (
	"strconv"
	"strings"

	"github.com/ssi-project/ssi/internal/jose"
)

// nonDisclosable are the top-level claims that may never come from a
// disclosure (HAIP; SECURITY-CASES B31). Checked at issue and at verify.
var nonDisclosable = map[string]bool{
	"iss": true, "iat": true, "nbf": true, "exp": true,
	"cnf": true, "vct": true, "status": true,
	// Registered SD-JWT members that can never be claims.
	"_sd_alg": true,
}

// processor runs RFC 9901 §7.1 steps 3–5 over a decoded payload.
type processor struct {
	alg      string
	byDigest map[string]*Disclosure
	seen     map[string]struct{} // every digest met in the payload
	used     int
	// extraReserved are profile-specific top-level names that can never be
	// disclosed (VCDM: @context, type, …).
	extraReserved map[string]bool
}

func newProcessor(alg string, ds []*Disclosure) (*processor, error) {
	p := &processor{alg: alg, byDigest: make(map[string]*Disclosure, len(ds)), seen: make(map[string]struct{}, 16)}
	for _, d := range ds {
		if _, dup := p.byDigest[d.Digest]; dup {
			return nil, ErrDuplicateDisclosure
		}
		p.byDigest[d.Digest] = d
	}
	return p, nil
}

// run processes the top-level payload object in place and returns it.
func (p *processor) run(payload jose.Claims) (jose.Claims, error) {
	delete(payload, "_sd_alg")
	if err := p.object(payload, "", 0, true); err != nil {
		return nil, err
	}
	if p.used != len(p.byDigest) {
		return nil, ErrUnreferenced
	}
	return payload, nil
}

func (p *processor) mark(dg string) (*Disclosure, error) {
	if _, dup := p.seen[dg]; dup {
		return nil, ErrDuplicateDigest
	}
	p.seen[dg] = struct{}{}
	d := p.byDigest[dg]
	if d != nil {
		p.used++
	}
	return d, nil
}

func (p *processor) object(m map[string]any, path string, depth int, top bool) error {
	if !top {
		if _, ok := m["_sd_alg"]; ok {
			return ErrUnsupportedSDAlg.With("_sd_alg is only allowed at the top level", nil)
		}
	}
	var disclosed []*Disclosure
	if raw, ok := m["_sd"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return ErrMalformedSD.With("_sd is not an array", nil)
		}
		delete(m, "_sd")
		for _, e := range list {
			dg, ok := e.(string)
			if !ok {
				return ErrMalformedSD.With("_sd holds a non-string", nil)
			}
			d, err := p.mark(dg)
			if err != nil {
				return err
			}
			if d == nil {
				continue // a decoy or an undisclosed claim
			}
			if d.IsArrayElement {
				return ErrDisclosureKind.With("an array-element disclosure is referenced from _sd", nil)
			}
			if _, clash := m[d.Name]; clash {
				return ErrCollision
			}
			if top && (nonDisclosable[d.Name] || p.extraReserved[d.Name]) {
				return ErrNonDisclosable.With("claim "+strconv.Quote(d.Name)+" can never be selectively disclosable", nil)
			}
			disclosed = append(disclosed, d)
			m[d.Name] = nil // reserve the name so a second disclosure of it collides
		}
	}
	// Plain members first; disclosed values are processed with one more
	// level of disclosure depth.
	for name, v := range m {
		if isDisclosedName(disclosed, name) {
			continue
		}
		if !isContainer(v) {
			continue // only objects and arrays can hold digests
		}
		nv, err := p.value(v, path+"/"+escape(name), depth)
		if err != nil {
			return err
		}
		m[name] = nv
	}
	for _, d := range disclosed {
		if depth+1 > MaxRecursion {
			return ErrTooDeep
		}
		d.Path = path + "/" + escape(d.Name)
		nv, err := p.value(d.Value, d.Path, depth+1)
		if err != nil {
			return err
		}
		m[d.Name] = nv
	}
	return nil
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func isDisclosedName(ds []*Disclosure, name string) bool {
	for _, d := range ds {
		if d.Name == name {
			return true
		}
	}
	return false
}

func (p *processor) value(v any, path string, depth int) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		return t, p.object(t, path, depth, false)
	case []any:
		return p.array(t, path, depth)
	}
	return v, nil
}

func (p *processor) array(a []any, path string, depth int) ([]any, error) {
	out := a[:0:0]
	for _, e := range a {
		if m, ok := e.(map[string]any); ok && len(m) == 1 {
			if raw, ok := m["..."]; ok {
				dg, ok := raw.(string)
				if !ok {
					return nil, ErrMalformedSD.With("an array digest is not a string", nil)
				}
				d, err := p.mark(dg)
				if err != nil {
					return nil, err
				}
				if d == nil {
					continue
				}
				if !d.IsArrayElement {
					return nil, ErrDisclosureKind.With("an object-property disclosure is referenced from an array", nil)
				}
				if depth+1 > MaxRecursion {
					return nil, ErrTooDeep
				}
				d.Path = path + "/" + strconv.Itoa(len(out))
				nv, err := p.value(d.Value, d.Path, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, nv)
				continue
			}
		}
		if !isContainer(e) {
			out = append(out, e)
			continue
		}
		nv, err := p.value(e, path+"/"+strconv.Itoa(len(out)), depth)
		if err != nil {
			return nil, err
		}
		out = append(out, nv)
	}
	return out, nil
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// escape escapes one JSON Pointer reference token (RFC 6901).
func escape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return pointerEscaper.Replace(s)
}
