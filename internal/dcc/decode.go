package dcc

import (
	"bytes"
	"errors"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/ssi-project/ssi/internal/inflate"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/veraison/go-cose"
)

// Prefix is the HCERT context identifier of version 1.
const Prefix = "HC1:"

// Limits on hostile input. A QR code holds at most 4,296 alphanumeric
// characters; MaxTextLen leaves room for texts pasted from elsewhere.
const (
	MaxTextLen  = 8192
	MaxInflated = 64 << 10
)

// decMode decodes everything inside the COSE message: no duplicate map
// keys, bounded nesting and sizes, valid UTF-8, tags ignored.
var decMode = mustDecMode(cbor.DecOptions{
	DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	MaxNestedLevels:  16,
	MaxArrayElements: 4096,
	MaxMapPairs:      4096,
	IntDec:           cbor.IntDecConvertSignedOrFail,
	UTF8:             cbor.UTF8RejectInvalid,
})

// mustDecMode builds the decoding mode of static options.
func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	dm, err := o.DecMode()
	if err != nil {
		panic(err) // static options: a bug
	}
	return dm
}

// Parsed is a decoded DCC whose signature is NOT yet verified.
type Parsed struct {
	Msg *cose.Sign1Message
	Alg cose.Algorithm
	// AlgUnprotected: the alg came from the unprotected header (the
	// protected one has none), as in upstream test case CO20. It is safe
	// because each DSC's key fits exactly one alg, so an unprotected alg
	// cannot change how a signature is checked; go-cose refuses such a
	// message, so Verify then builds the Sig_structure itself.
	AlgUnprotected bool
	// KID is the kid of the protected header or, failing that, of the
	// unprotected one; nil when neither has one.
	KID []byte
}

// Parse decodes an HC1: text as far as the COSE_Sign1 message, in this
// order: prefix (dcc_wrong_prefix), size (dcc_too_large), Base45 (qr's
// codes), zlib (dcc_bad_zlib, dcc_too_large when the inflation passes
// MaxInflated), CBOR well-formedness with an optional tag 61
// (dcc_bad_cbor), the COSE_Sign1 structure, tagged 18 or not
// (dcc_bad_cose), and the protected alg (dcc_unsupported_alg). The result
// must not be trusted; Verify checks it.
func Parse(text string) (*Parsed, error) {
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		return nil, ErrPrefix
	}
	if len(text) > MaxTextLen {
		return nil, ErrTooLarge.With("the text is longer than any QR code holds", nil)
	}
	compressed, err := qr.DecodeBase45(body)
	if err != nil {
		return nil, err
	}
	raw, err := inflateCOSE(compressed)
	if err != nil {
		return nil, err
	}
	return parseCOSE(raw)
}

// inflateCOSE reads exactly one zlib stream of at most MaxInflated bytes.
func inflateCOSE(b []byte) ([]byte, error) {
	out, err := inflate.Zlib(b, MaxInflated)
	switch {
	case errors.Is(err, inflate.ErrTooLarge):
		return nil, ErrTooLarge.With("the COSE message inflates past the limit", nil)
	case err != nil:
		return nil, ErrZlib.With("", err)
	}
	return out, nil
}

// cwtTag is the CBOR tag of a CWT (RFC 8392 §6), which HCERT allows before
// the COSE_Sign1 tag.
var cwtTag = []byte{0xd8, 0x3d}

func parseCOSE(raw []byte) (*Parsed, error) {
	raw = bytes.TrimPrefix(raw, cwtTag)
	// As go-cose's Sign1Message or UntaggedSign1Message decodes it (cose.go).
	msg, err := decodeSign1(raw, len(raw) > 0 && raw[0] == 0xd2) // tag 18, COSE_Sign1
	if err != nil {
		// go-cose refuses trailing bytes too; only a refusal is checked
		// again, to tell broken CBOR from a wrong structure.
		if werr := decMode.Wellformed(raw); werr != nil {
			return nil, ErrCBOR.With("", werr)
		}
		return nil, ErrCOSE.With("", err)
	}
	if msg.Payload == nil {
		return nil, ErrCOSE.With("the COSE_Sign1 message has no payload", nil)
	}
	p := &Parsed{Msg: msg}
	alg, err := msg.Headers.Protected.Algorithm()
	if errors.Is(err, cose.ErrAlgorithmNotFound) {
		if _, ok := msg.Headers.Unprotected[cose.HeaderLabelAlgorithm]; ok {
			// The same reading of the alg value as for the protected bucket.
			alg, err = cose.ProtectedHeader{cose.HeaderLabelAlgorithm: msg.Headers.Unprotected[cose.HeaderLabelAlgorithm]}.Algorithm()
			p.AlgUnprotected = err == nil
		}
	}
	switch {
	case errors.Is(err, cose.ErrAlgorithmNotFound):
		return nil, ErrAlg.With("the message has no alg", nil)
	case err != nil:
		return nil, ErrAlg.With("", err)
	case alg != cose.AlgorithmES256 && alg != cose.AlgorithmPS256:
		return nil, ErrAlg
	}
	p.Alg = alg
	p.KID = headerKID(msg.Headers.Protected)
	if p.KID == nil {
		p.KID = headerKID(msg.Headers.Unprotected)
	}
	return p, nil
}

// headerKID returns the kid (label 4) of h when it is a non-empty byte
// string.
func headerKID(h map[any]any) []byte {
	v, ok := h[cose.HeaderLabelKeyID]
	if !ok {
		return nil
	}
	b, ok := v.([]byte)
	if !ok || len(b) == 0 {
		return nil
	}
	return b
}

// verifySignature checks the signature of p with d's key.
func (p *Parsed) verifySignature(d *DSC) error {
	if !p.AlgUnprotected {
		return p.Msg.Verify(nil, d.verifier)
	}
	// RFC 9052 §4.4 Sig_structure, as go-cose builds it: the protected
	// bucket as received (an empty bstr here), no external AAD.
	var protected []byte
	if err := decMode.Unmarshal(p.Msg.Headers.RawProtected, &protected); err != nil {
		return err
	}
	tbs, err := cbor.Marshal([]any{"Signature1", protected, []byte{}, p.Msg.Payload})
	if err != nil {
		return err
	}
	return d.verifier.Verify(tbs, p.Msg.Signature)
}
