// Package dcctest makes EU DCCs for tests: signing certificates (DSCs) with
// ES256 or PS256 keys and chosen validity and key usage, and HC1: texts
// signed by them, with switches for every way a pass can be wrong. It is
// imported only from tests.
package dcctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/ssi-project/ssi/internal/inflate/inflatetest"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/veraison/go-cose"
)

// EKU OIDs of the HCERT certificate types.
var (
	EKUTest        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 1}
	EKUVaccination = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2}
	EKURecovery    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 3}
)

// Signer is a test DSC with its private key.
type Signer struct {
	DER  []byte
	Cert *x509.Certificate
	Key  crypto.Signer
	Alg  cose.Algorithm
}

// KID is the HCERT kid of the DSC.
func (s *Signer) KID() []byte {
	sum := sha256.Sum256(s.DER)
	return sum[:8]
}

// DSCOptions shape a test DSC. Zero values give a P-256 DSC valid from
// 2026-01-01 for two years with no key usage restriction.
type DSCOptions struct {
	RSA       bool // RSA-2048 (PS256) instead of P-256 (ES256)
	NotBefore time.Time
	NotAfter  time.Time
	EKU       []asn1.ObjectIdentifier
}

// NewDSC makes a self-signed DSC.
func NewDSC(t testing.TB, o DSCOptions) *Signer {
	t.Helper()
	s := &Signer{}
	var err error
	if o.RSA {
		s.Key, err = rsa.GenerateKey(rand.Reader, 2048)
		s.Alg = cose.AlgorithmPS256
	} else {
		s.Key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		s.Alg = cose.AlgorithmES256
	}
	if err != nil {
		t.Fatal(err)
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = o.NotBefore.AddDate(2, 0, 0)
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial(t),
		Subject:            pkix.Name{CommonName: "ssi test DSC", Country: []string{"XX"}},
		NotBefore:          o.NotBefore,
		NotAfter:           o.NotAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage: o.EKU,
	}
	if s.DER, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Key.Public(), s.Key); err != nil {
		t.Fatal(err)
	}
	if s.Cert, err = x509.ParseCertificate(s.DER); err != nil {
		t.Fatal(err)
	}
	return s
}

// Pass describes an HC1: text to make. Zero values give a vaccination
// (2 of 2 doses of EU/1/20/1528 on 2026-03-01) issued 2026-03-02 and
// expiring a year later, by "XX", for Erika Mustermann born 1964-08-12.
type Pass struct {
	IssuedAt, Expires time.Time
	// Entries overrides the hcert v/t/r members (for entry-count cases);
	// nil means one vaccination.
	Entries map[string]any
	Product string // mp; "" is EU/1/20/1528
	Date    string // dt; "" is 2026-03-01
	// KIDUnprotected puts the kid in the unprotected header only.
	KIDUnprotected bool
	// AlgUnprotected leaves the protected header empty and puts alg and
	// kid in the unprotected one (as upstream case CO20 does); go-cose
	// does not sign such a message, so the test signs its Sig_structure.
	AlgUnprotected bool
	KID            []byte // overrides the DSC's kid
	// Tamper flips a bit of the signature.
	Tamper bool
	// Payload replaces the CWT bytes (signed as given).
	Payload []byte
}

// Vaccination returns a v entry.
func Vaccination(product, date string, dose, of int) map[string]any {
	return map[string]any{
		"tg": "840539006", "vp": "1119349007", "mp": product, "ma": "ORG-100030215",
		"dn": dose, "sd": of, "dt": date, "co": "XX", "is": "ssi test issuer",
		"ci": "URN:UVCI:01:XX:TEST#1",
	}
}

// Make returns the HC1: text of p signed by s.
func (s *Signer) Make(t testing.TB, p Pass) string {
	t.Helper()
	return "HC1:" + qr.EncodeBase45(Deflate(t, s.COSE(t, p)))
}

// COSE returns the tagged COSE_Sign1 message of p signed by s.
func (s *Signer) COSE(t testing.TB, p Pass) []byte {
	t.Helper()
	if p.IssuedAt.IsZero() {
		p.IssuedAt = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	}
	if p.Expires.IsZero() {
		p.Expires = p.IssuedAt.AddDate(1, 0, 0)
	}
	if p.Product == "" {
		p.Product = "EU/1/20/1528"
	}
	if p.Date == "" {
		p.Date = "2026-03-01"
	}
	payload := p.Payload
	if payload == nil {
		hcert := map[string]any{
			"ver": "1.3.0",
			"nam": map[string]any{"fn": "Mustermann", "fnt": "MUSTERMANN", "gn": "Erika", "gnt": "ERIKA"},
			"dob": "1964-08-12",
		}
		if p.Entries == nil {
			hcert["v"] = []any{Vaccination(p.Product, p.Date, 2, 2)}
		}
		for k, v := range p.Entries {
			hcert[k] = v
		}
		var err error
		payload, err = cbor.Marshal(map[int]any{
			1: "XX", 6: p.IssuedAt.Unix(), 4: p.Expires.Unix(),
			-260: map[int]any{1: hcert},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	kid := p.KID
	if kid == nil {
		kid = s.KID()
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(s.Alg)
	if p.KIDUnprotected {
		msg.Headers.Unprotected[cose.HeaderLabelKeyID] = kid
	} else {
		msg.Headers.Protected[cose.HeaderLabelKeyID] = kid
	}
	msg.Payload = payload
	if p.AlgUnprotected {
		msg.Headers.Protected = cose.ProtectedHeader{}
		msg.Headers.Unprotected = cose.UnprotectedHeader{cose.HeaderLabelAlgorithm: s.Alg, cose.HeaderLabelKeyID: kid}
		tbs, err := cbor.Marshal([]any{"Signature1", []byte{}, []byte{}, payload})
		if err != nil {
			t.Fatal(err)
		}
		msg.Signature = s.signRaw(t, tbs)
	} else {
		signer, err := cose.NewSigner(s.Alg, s.Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := msg.Sign(rand.Reader, nil, signer); err != nil {
			t.Fatal(err)
		}
	}
	if p.Tamper {
		msg.Signature[len(msg.Signature)/2] ^= 1
	}
	out, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// signRaw signs tbs as COSE does: ES256 as raw R||S, PS256 with a salt as
// long as the hash.
func (s *Signer) signRaw(t testing.TB, tbs []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(tbs)
	switch k := s.Key.(type) {
	case *ecdsa.PrivateKey:
		r, ss, err := ecdsa.Sign(rand.Reader, k, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
		return sig
	case *rsa.PrivateKey:
		sig, err := rsa.SignPSS(rand.Reader, k, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	t.Fatal("unknown key type")
	return nil
}

// Deflate returns b as a zlib stream.
func Deflate(t testing.TB, b []byte) []byte {
	t.Helper()
	return inflatetest.Zlib(t, b)
}

// serial returns a random 64-bit certificate serial number.
func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}
