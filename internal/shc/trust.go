package shc

import (
	"crypto/ecdsa"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
)

// Trust is the set of trusted SHC issuers, each with its keys and
// revocation lists. The zero value is empty; it is read-only once loaded
// and safe for concurrent Verify calls.
type Trust struct {
	issuers map[string]*Issuer
}

// Issuer is one trusted issuer.
type Issuer struct {
	ISS  string
	Name string
	keys map[string]*Key
	crls map[string]*CRL
}

// Key is one issuer key: EC P-256, kid = its RFC 7638 thumbprint.
type Key struct {
	KID        string
	Pub        *ecdsa.PublicKey
	CRLVersion int64 // 0: the key has no revocation list
}

// CRL is one key's revocation list (crl/<kid>.json), method "rid".
type CRL struct {
	KID  string
	Ctr  int64
	rids map[string]int64 // rid → the ts after which cards stay valid; 0 revokes all
}

// Issuers returns the number of issuers.
func (t *Trust) Issuers() int { return len(t.issuers) }

func (t *Trust) issuer(iss string) *Issuer {
	if t.issuers == nil {
		t.issuers = map[string]*Issuer{}
	}
	is := t.issuers[iss]
	if is == nil {
		is = &Issuer{ISS: iss, keys: map[string]*Key{}, crls: map[string]*CRL{}}
		t.issuers[iss] = is
	}
	return is
}

type jwks struct {
	Keys []map[string]any `json:"keys"`
}

type crlFile struct {
	KID    string   `json:"kid"`
	Method string   `json:"method"`
	Ctr    int64    `json:"ctr"`
	RIDs   []string `json:"rids"`
}

type directory struct {
	Issuers []struct {
		Issuer struct {
			ISS  string `json:"iss"`
			Name string `json:"name"`
		} `json:"issuer"`
		Keys []map[string]any `json:"keys"`
		CRLs []crlFile        `json:"crls"`
	} `json:"participating_issuers"`
}

// AddDirectory adds the issuers of a VCI directory snapshot:
// {"participating_issuers":[{"issuer":{"iss","name"},"keys":[JWK…],
// "crls":[{kid,method,ctr,rids}…]}]}. A key that is not EC P-256, or whose
// kid is not its RFC 7638 thumbprint, could never verify a card and is
// left out. Nothing is added when the file is refused (shc_bad_trust).
func (t *Trust) AddDirectory(data []byte) error {
	var d directory
	if err := jsonx.Unmarshal(data, &d, false); err != nil {
		return ErrTrust.With("the directory does not decode", err)
	}
	if len(d.Issuers) == 0 {
		return ErrTrust.With("the directory lists no issuer", nil)
	}
	var staged Trust
	for i, e := range d.Issuers {
		if e.Issuer.ISS == "" {
			return ErrTrust.With(fmt.Sprintf("issuer %d has no iss", i), nil)
		}
		is := staged.issuer(e.Issuer.ISS)
		is.Name = e.Issuer.Name
		if err := is.addKeys(e.Keys); err != nil {
			return err
		}
		for _, c := range e.CRLs {
			if err := is.addCRL(c); err != nil {
				return err
			}
		}
	}
	t.merge(&staged)
	return nil
}

// AddJWKS adds the keys of issuer iss from its JWKS file
// (.well-known/jwks.json), with the rule of AddDirectory for keys.
func (t *Trust) AddJWKS(iss string, data []byte) error {
	if iss == "" {
		return ErrTrust.With("the issuer of a JWKS file is empty", nil)
	}
	var k jwks
	if err := jsonx.Unmarshal(data, &k, false); err != nil {
		return ErrTrust.With("the JWKS does not decode", err)
	}
	var staged Trust
	if err := staged.issuer(iss).addKeys(k.Keys); err != nil {
		return err
	}
	t.merge(&staged)
	return nil
}

// AddCRL adds one revocation list of issuer iss (.well-known/crl/<kid>.json).
func (t *Trust) AddCRL(iss string, data []byte) error {
	if iss == "" {
		return ErrTrust.With("the issuer of a CRL file is empty", nil)
	}
	var c crlFile
	if err := jsonx.Unmarshal(data, &c, false); err != nil {
		return ErrTrust.With("the CRL does not decode", err)
	}
	var staged Trust
	if err := staged.issuer(iss).addCRL(c); err != nil {
		return err
	}
	t.merge(&staged)
	return nil
}

func (t *Trust) merge(from *Trust) {
	for iss, f := range from.issuers {
		is := t.issuer(iss)
		if f.Name != "" {
			is.Name = f.Name
		}
		for kid, k := range f.keys {
			is.keys[kid] = k
		}
		for kid, c := range f.crls {
			if old := is.crls[kid]; old == nil || old.Ctr <= c.Ctr {
				is.crls[kid] = c
			}
		}
	}
}

func (is *Issuer) addKeys(list []map[string]any) error {
	for i, m := range list {
		j, err := keys.JWKFromMap(m)
		if err != nil {
			return ErrTrust.With(fmt.Sprintf("key %d is not a public JWK", i), err)
		}
		if j.Kty != "EC" || j.Crv != "P-256" || (j.Alg != "" && j.Alg != keys.ES256) {
			continue
		}
		pub, err := j.PublicKey()
		if err != nil {
			return ErrTrust.With(fmt.Sprintf("key %d is not a valid P-256 key", i), err)
		}
		tp, err := j.Thumbprint()
		if err != nil || j.Kid != tp {
			continue
		}
		k := &Key{KID: tp, Pub: pub.(*ecdsa.PublicKey)}
		if v, ok := m["crlVersion"]; ok {
			if k.CRLVersion, err = wholeNumber(v); err != nil || k.CRLVersion < 0 {
				return ErrTrust.With(fmt.Sprintf("key %d: crlVersion is not a non-negative integer", i), err)
			}
		}
		is.keys[tp] = k
	}
	return nil
}

func (is *Issuer) addCRL(c crlFile) error {
	if c.KID == "" || c.Method != "rid" {
		return ErrTrust.With("a CRL has no kid or a method other than rid", nil)
	}
	crl := &CRL{KID: c.KID, Ctr: c.Ctr, rids: make(map[string]int64, len(c.RIDs))}
	for _, r := range c.RIDs {
		rid, ts, hasTS := strings.Cut(r, ".")
		if rid == "" || len(rid) > 64 {
			return ErrTrust.With("a CRL has an empty or overlong rid", nil)
		}
		var n int64
		if hasTS {
			var err error
			if n, err = strconv.ParseInt(ts, 10, 64); err != nil || n <= 0 {
				return ErrTrust.With("a CRL rid has a timestamp that is not a positive integer", err)
			}
		}
		// The same rid twice keeps the later timestamp, or "all".
		if old, ok := crl.rids[rid]; ok && (old == 0 || (n != 0 && old > n)) {
			continue
		}
		crl.rids[rid] = n
	}
	if old := is.crls[c.KID]; old == nil || old.Ctr <= crl.Ctr {
		is.crls[c.KID] = crl
	}
	return nil
}

// wholeNumber reads a JSON number (decoded as float64) that is an integer.
func wholeNumber(v any) (int64, error) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, ErrTrust
	}
	return int64(f), nil
}
