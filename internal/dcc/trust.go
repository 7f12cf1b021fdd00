package dcc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"

	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/veraison/go-cose"
)

// KIDSize is the length of an HCERT kid: the first 8 bytes of the SHA-256
// of the DSC's DER encoding.
const KIDSize = 8

// DSC is one trusted Document Signer Certificate, parsed once when the
// trust list is loaded so that verifying a pass does no X.509 work.
type DSC struct {
	Cert    *x509.Certificate
	KID     [KIDSize]byte
	Country string // from the JSON list; "" for PEM and DER files

	alg      cose.Algorithm // ES256 for a P-256 key, PS256 for RSA ≥ 2048
	verifier cose.Verifier
	types    typeSet // from the EKU; 0 means every type
}

// Trust is a set of DSCs indexed by kid. The zero value is empty; it is
// read-only once loaded and safe for concurrent Verify calls.
type Trust struct {
	byKID map[[KIDSize]byte][]*DSC
}

// Len returns the number of DSCs.
func (t *Trust) Len() int {
	n := 0
	for _, l := range t.byKID {
		n += len(l)
	}
	return n
}

// AddDER adds a DSC from its DER encoding. It refuses (dcc_bad_trust_list)
// a certificate that does not parse or whose key is neither P-256 nor RSA
// of at least 2048 bits.
func (t *Trust) AddDER(der []byte, country string) (*DSC, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, ErrTrust.With("a certificate does not parse", err)
	}
	d := &DSC{Cert: cert, Country: country}
	sum := sha256.Sum256(der)
	copy(d.KID[:], sum[:KIDSize])
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, ErrTrust.With("a certificate's EC key is not on P-256", nil)
		}
		d.alg = cose.AlgorithmES256
	case *rsa.PublicKey:
		d.alg = cose.AlgorithmPS256
	default:
		return nil, ErrTrust.With("a certificate's key is neither EC P-256 nor RSA", nil)
	}
	if d.verifier, err = cose.NewVerifier(d.alg, cert.PublicKey); err != nil {
		return nil, ErrTrust.With("a certificate's key cannot verify ES256 or PS256", err)
	}
	d.types = ekuTypes(cert)
	if t.byKID == nil {
		t.byKID = map[[KIDSize]byte][]*DSC{}
	}
	t.byKID[d.KID] = append(t.byKID[d.KID], d)
	return d, nil
}

// AddFile adds the DSCs of one trust file, which is one of:
//   - PEM with one or more CERTIFICATE blocks (other blocks refused);
//   - one DER certificate;
//   - the JSON list {"certificates":[{"kid":"<base64>","rawData":"<base64
//     DER>","country":"XX"}]}, where each kid must be its certificate's.
//
// Nothing is added when any entry is refused (dcc_bad_trust_list).
func (t *Trust) AddFile(data []byte) error {
	var staged Trust
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		if err := staged.addJSON(trimmed); err != nil {
			return err
		}
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		rest := trimmed
		for len(bytes.TrimSpace(rest)) > 0 {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				return ErrTrust.With("the PEM file has text that is not a PEM block", nil)
			}
			if b.Type != "CERTIFICATE" {
				return ErrTrust.With("a PEM block is not a CERTIFICATE", nil)
			}
			if _, err := staged.AddDER(b.Bytes, ""); err != nil {
				return err
			}
		}
	default:
		if _, err := staged.AddDER(data, ""); err != nil {
			return err
		}
	}
	if staged.Len() == 0 {
		return ErrTrust.With("the trust file holds no certificate", nil)
	}
	if t.byKID == nil {
		t.byKID = map[[KIDSize]byte][]*DSC{}
	}
	for kid, l := range staged.byKID {
		t.byKID[kid] = append(t.byKID[kid], l...)
	}
	return nil
}

type jsonList struct {
	Certificates []struct {
		KID     string `json:"kid"`
		RawData string `json:"rawData"`
		Country string `json:"country"`
	} `json:"certificates"`
}

func (t *Trust) addJSON(data []byte) error {
	var l jsonList
	if err := jsonx.Unmarshal(data, &l, false); err != nil {
		return ErrTrust.With("the JSON trust list does not decode", err)
	}
	for i, c := range l.Certificates {
		der, err := base64.StdEncoding.DecodeString(c.RawData)
		if err != nil || len(der) == 0 {
			return ErrTrust.With(fmt.Sprintf("certificate %d: rawData is not base64", i), err)
		}
		d, err := t.AddDER(der, c.Country)
		if err != nil {
			return err
		}
		if c.KID != "" {
			kid, err := base64.StdEncoding.DecodeString(c.KID)
			if err != nil || !bytes.Equal(kid, d.KID[:]) {
				return ErrTrust.With(fmt.Sprintf("certificate %d: kid is not the certificate's", i), err)
			}
		}
	}
	return nil
}

// typeSet is a set of certificate types a DSC may sign.
type typeSet uint8

const (
	typeTest typeSet = 1 << iota
	typeVaccination
	typeRecovery
)

// The HCERT extended key usage OIDs (eHealth network, "Technical
// Specifications for Digital Green Certificates" vol. 1 §5), in both the
// registered form 1.3.6.1.4.1.1847.2021.1.x and the 1.3.6.1.4.1.0.1847…
// variant that early DSCs carry.
var ekuOIDs = []struct {
	oid asn1.ObjectIdentifier
	t   typeSet
}{
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 1}, typeTest},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2}, typeVaccination},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 3}, typeRecovery},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 1}, typeTest},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 2}, typeVaccination},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 3}, typeRecovery},
}

// ekuTypes returns the certificate types the DSC's extended key usage
// names, or 0 when it names none (the DSC may then sign every type).
func ekuTypes(c *x509.Certificate) typeSet {
	var s typeSet
	for _, u := range c.UnknownExtKeyUsage {
		for _, e := range ekuOIDs {
			if u.Equal(e.oid) {
				s |= e.t
			}
		}
	}
	return s
}
