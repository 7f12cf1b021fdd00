package dcc

import (
	"bytes"
	"errors"
	"maps"
	"sync"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// COSE_Sign1 decoding, as go-cose's Sign1Message.UnmarshalCBOR does it,
// with one difference: the two header buckets, decoded and validated by
// go-cose (Headers.UnmarshalFromRaw), are remembered by their bytes. Every
// pass signed with one DSC carries the same headers ({alg, kid}), and
// go-cose's decoding and validation of them costs more than the rest of
// the COSE layer (22k of 36k instructions a pass). FuzzCOSEMatchesGoCOSE
// holds decodeSign1 to go-cose on any input, with the cache empty or
// warm.

// sign1DecMode is go-cose's decoding mode for a COSE_Sign1 message
// (decModeWithTagsForbidden in its cbor.go) but for its IntDec option,
// which only applies to an integer decoded into an interface and so never
// to the array's members, raw or byte strings.
var sign1DecMode = mustDecMode(cbor.DecOptions{
	DupMapKey:   cbor.DupMapKeyEnforcedAPF,
	IndefLength: cbor.IndefLengthForbidden,
	TagsMd:      cbor.TagsForbidden,
})

// sign1 is the COSE_Sign1 array (go-cose's sign1Message), each member as
// received.
type sign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   cbor.RawMessage
	Unprotected cbor.RawMessage
	Payload     cbor.RawMessage
	Signature   cbor.RawMessage
}

var (
	errSign1Tag    = errors.New("cbor: invalid COSE_Sign1_Tagged object")
	errSign1Array  = errors.New("cbor: invalid COSE_Sign1 object")
	errSign1Empty  = errors.New("cbor: zero length data")
	errRequireBstr = errors.New("cbor: require bstr type")
)

// decodeSign1 decodes a COSE_Sign1 message, tagged (18) or not, as
// go-cose's Sign1Message.UnmarshalCBOR and UntaggedSign1Message's do.
func decodeSign1(data []byte, tagged bool) (*cose.Sign1Message, error) {
	if tagged {
		if !bytes.HasPrefix(data, []byte{0xd2, 0x84}) {
			return nil, errSign1Tag
		}
		data = data[1:]
	} else {
		if len(data) == 0 {
			return nil, errSign1Empty
		}
		if data[0] != 0x84 {
			return nil, errSign1Array
		}
	}
	var raw sign1
	if err := sign1DecMode.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	payload, err := bstrOrNil(raw.Payload)
	if err != nil {
		return nil, err
	}
	sig, err := bstrOrNil(raw.Signature)
	if err != nil {
		return nil, err
	}
	if len(sig) == 0 {
		return nil, cose.ErrEmptySignature
	}
	h, err := headers(raw.Protected, raw.Unprotected)
	if err != nil {
		return nil, err
	}
	return &cose.Sign1Message{Headers: h, Payload: payload, Signature: sig}, nil
}

// bstrOrNil reads a "bstr / nil" member as go-cose's byteString does.
func bstrOrNil(raw cbor.RawMessage) ([]byte, error) {
	if bytes.Equal(raw, []byte{0xf6}) {
		return nil, nil
	}
	if raw[0]>>5 != 2 { // major type 2: bstr (a RawMessage is never empty)
		return nil, errRequireBstr
	}
	var b []byte
	if err := sign1DecMode.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	return b, nil
}

// headerCache maps the two header buckets' bytes, concatenated (each is
// one CBOR item, so the concatenation names one pair), to what go-cose
// decoded from them. It holds only buckets that go-cose accepted, at most
// maxCachedHeaders of at most maxCachedHeaderLen bytes; when full it
// starts again, so hostile headers cost memory once and a cache miss
// after.
var headerCache struct {
	sync.RWMutex
	m map[string]cose.Headers
}

const (
	maxCachedHeaders   = 1024
	maxCachedHeaderLen = 128
)

// headers decodes and validates the header buckets with go-cose (or finds
// them in the cache), returning maps of the caller's own.
func headers(protected, unprotected cbor.RawMessage) (cose.Headers, error) {
	var buf [maxCachedHeaderLen]byte
	key := append(append(buf[:0], protected...), unprotected...)
	if len(key) <= maxCachedHeaderLen {
		headerCache.RLock()
		h, ok := headerCache.m[string(key)]
		headerCache.RUnlock()
		if ok {
			return cose.Headers{
				RawProtected: protected, Protected: maps.Clone(h.Protected),
				RawUnprotected: unprotected, Unprotected: maps.Clone(h.Unprotected),
			}, nil
		}
	}
	h := cose.Headers{RawProtected: protected, RawUnprotected: unprotected}
	if err := h.UnmarshalFromRaw(); err != nil {
		return cose.Headers{}, err
	}
	if len(key) <= maxCachedHeaderLen {
		headerCache.Lock()
		if len(headerCache.m) >= maxCachedHeaders || headerCache.m == nil {
			headerCache.m = make(map[string]cose.Headers)
		}
		headerCache.m[string(key)] = cose.Headers{Protected: maps.Clone(h.Protected), Unprotected: maps.Clone(h.Unprotected)}
		headerCache.Unlock()
	}
	return h, nil
}
