package trust

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file reads and writes the protobuf messages of CometBFT v0.38 that a
// header check needs (tendermint.types.SignedHeader and what it holds, and
// the canonical encodings that are hashed or signed) at the wire level,
// with protowire. It does not use CometBFT's generated types, which pull
// gogoproto and the whole protobuf registry into a browser's WASM (more
// than 1.5 MB of the venue's offline verifier).
//
// Decoding follows the generated gogoproto code of
// cometbft/proto/tendermint/types (types.pb.go) field by field: a scalar or
// bytes field seen twice keeps the last value, an embedded message seen
// twice is merged, a repeated message appends, a timestamp is replaced and
// must be valid (types.StdTimeUnmarshal), unknown fields are skipped, and a
// known field of the wrong wire type is refused. header_diff_test.go holds
// it to the library over random and fuzzed encodings.
//
// One deliberate difference: protowire is stricter than gogoproto's
// hand-rolled loops on a few malformed wire encodings that no encoder
// produces — a 10-byte varint whose last byte is above 1, a tag whose field
// number does not fit 31 bits (gogoproto truncates it to 32), an unknown
// group whose end tag names another field or nests deeper than protowire's
// recursion limit. Those are refused here (errWire) where the library
// would skip or truncate them, which fails closed.

// errWire is a field that protowire cannot read (truncated, an overlong or
// overflowing varint, a length past the end, a bad tag or group).
var errWire = errors.New("the protobuf encoding is malformed")

// Field numbers, from cometbft/proto/tendermint/types/types.proto and
// canonical.proto, version/types.proto, crypto/keys.proto and
// google/protobuf/timestamp.proto.
const (
	// SignedHeader
	fSignedHeaderHeader protowire.Number = 1
	fSignedHeaderCommit protowire.Number = 2
	// Header
	fHeaderVersion            protowire.Number = 1
	fHeaderChainID            protowire.Number = 2
	fHeaderHeight             protowire.Number = 3
	fHeaderTime               protowire.Number = 4
	fHeaderLastBlockID        protowire.Number = 5
	fHeaderLastCommitHash     protowire.Number = 6
	fHeaderDataHash           protowire.Number = 7
	fHeaderValidatorsHash     protowire.Number = 8
	fHeaderNextValidatorsHash protowire.Number = 9
	fHeaderConsensusHash      protowire.Number = 10
	fHeaderAppHash            protowire.Number = 11
	fHeaderLastResultsHash    protowire.Number = 12
	fHeaderEvidenceHash       protowire.Number = 13
	fHeaderProposerAddress    protowire.Number = 14
	// version.Consensus
	fConsensusBlock protowire.Number = 1
	fConsensusApp   protowire.Number = 2
	// BlockID, and the canonical one
	fBlockIDHash  protowire.Number = 1
	fBlockIDParts protowire.Number = 2
	// PartSetHeader, and the canonical one
	fPartsTotal protowire.Number = 1
	fPartsHash  protowire.Number = 2
	// Commit
	fCommitHeight     protowire.Number = 1
	fCommitRound      protowire.Number = 2
	fCommitBlockID    protowire.Number = 3
	fCommitSignatures protowire.Number = 4
	// CommitSig
	fSigFlag      protowire.Number = 1
	fSigAddress   protowire.Number = 2
	fSigTimestamp protowire.Number = 3
	fSigSignature protowire.Number = 4
	// google.protobuf.Timestamp
	fTimeSeconds protowire.Number = 1
	fTimeNanos   protowire.Number = 2
	// CanonicalVote
	fVoteType      protowire.Number = 1
	fVoteHeight    protowire.Number = 2
	fVoteRound     protowire.Number = 3
	fVoteBlockID   protowire.Number = 4
	fVoteTimestamp protowire.Number = 5
	fVoteChainID   protowire.Number = 6
	// SimpleValidator and crypto.PublicKey; the wrappers' value
	fValidatorPubKey protowire.Number = 1
	fValidatorPower  protowire.Number = 2
	fPubKeyEd25519   protowire.Number = 1
	fWrapperValue    protowire.Number = 1
)

// precommitType is tendermint.types.SignedMsgType PRECOMMIT.
const precommitType = 2

// Bounds of a valid google.protobuf.Timestamp (gogoproto types'
// minValidSeconds and maxValidSeconds): 0001-01-01 to 10000-01-01.
const (
	minValidSeconds = -62135596800
	maxValidSeconds = 253402300800
)

// timestamp is a google.protobuf.Timestamp as gogoproto's stdtime holds it.
// zeroTime is Go's zero time.Time, what a timestamp field left out decodes
// to (and what StdTimeMarshal encodes it as).
type timestamp struct {
	seconds int64
	nanos   int32
}

var zeroTime = timestamp{seconds: minValidSeconds}

func (t timestamp) isZero() bool { return t == zeroTime }

// asTime is the timestamp as gogoproto's stdtime decodes it (the zero
// timestamp is time.Time{}).
func (t timestamp) asTime() time.Time { return time.Unix(t.seconds, int64(t.nanos)).UTC() }

type partSetHeader struct {
	total uint32
	hash  []byte
}

type blockID struct {
	hash  []byte
	parts partSetHeader
}

// header is tendermint.types.Header.
type header struct {
	versionBlock, versionApp uint64
	chainID                  string
	height                   int64
	time                     timestamp
	lastBlockID              blockID
	lastCommitHash           []byte
	dataHash                 []byte
	validatorsHash           []byte
	nextValidatorsHash       []byte
	consensusHash            []byte
	appHash                  []byte
	lastResultsHash          []byte
	evidenceHash             []byte
	proposerAddress          []byte
}

// commitSig is tendermint.types.CommitSig.
type commitSig struct {
	flag      int32
	address   []byte
	timestamp timestamp
	signature []byte
}

// commit is tendermint.types.Commit.
type commit struct {
	height     int64
	round      int32
	blockID    blockID
	signatures []commitSig
}

// signedHeader is tendermint.types.SignedHeader; either part may be absent.
type signedHeader struct {
	header *header
	commit *commit
}

// field is one field of a message: its number and wire type, and its value
// for the varint and length-delimited types.
type field struct {
	num    protowire.Number
	typ    protowire.Type
	varint uint64
	bytes  []byte
}

// fields calls f on each field of the message b, in order, skipping none:
// f skips the unknown ones. A field protowire cannot read is errWire; an
// end-group tag outside a group is refused, as gogoproto does.
func fields(b []byte, f func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errWire, protowire.ParseError(n))
		}
		b = b[n:]
		fl := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			fl.varint, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			fl.bytes, n = protowire.ConsumeBytes(b)
		case protowire.EndGroupType:
			return errors.New("an end-group tag outside a group")
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: %w", errWire, protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(fl); err != nil {
			return err
		}
	}
	return nil
}

// want refuses a known field of another wire type.
func (f field) want(typ protowire.Type) error {
	if f.typ != typ {
		return fmt.Errorf("field %d has wire type %d, not %d", f.num, f.typ, typ)
	}
	return nil
}

// bytesOf is a bytes field as gogoproto keeps it: a copy, empty but not
// nil when present and empty.
func bytesOf(f field) ([]byte, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	return append([]byte{}, f.bytes...), nil
}

func varintOf(f field) (uint64, error) {
	if err := f.want(protowire.VarintType); err != nil {
		return 0, err
	}
	return f.varint, nil
}

// decodeSignedHeader decodes a SignedHeader.
func decodeSignedHeader(b []byte) (*signedHeader, error) {
	var sh signedHeader
	err := fields(b, func(f field) error {
		switch f.num {
		case fSignedHeaderHeader:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			if sh.header == nil {
				sh.header = &header{time: zeroTime}
			}
			return decodeHeader(f.bytes, sh.header)
		case fSignedHeaderCommit:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			if sh.commit == nil {
				sh.commit = &commit{}
			}
			return decodeCommit(f.bytes, sh.commit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sh, nil
}

// decodeHeader merges the Header b into h.
func decodeHeader(b []byte, h *header) error {
	return fields(b, func(f field) error {
		var err error
		var v uint64
		switch f.num {
		case fHeaderVersion:
			if err = f.want(protowire.BytesType); err == nil {
				err = decodeConsensus(f.bytes, h)
			}
		case fHeaderChainID:
			if err = f.want(protowire.BytesType); err == nil {
				h.chainID = string(f.bytes)
			}
		case fHeaderHeight:
			v, err = varintOf(f)
			h.height = int64(v)
		case fHeaderTime:
			if err = f.want(protowire.BytesType); err == nil {
				h.time, err = decodeTimestamp(f.bytes)
			}
		case fHeaderLastBlockID:
			if err = f.want(protowire.BytesType); err == nil {
				err = decodeBlockID(f.bytes, &h.lastBlockID)
			}
		case fHeaderLastCommitHash:
			h.lastCommitHash, err = bytesOf(f)
		case fHeaderDataHash:
			h.dataHash, err = bytesOf(f)
		case fHeaderValidatorsHash:
			h.validatorsHash, err = bytesOf(f)
		case fHeaderNextValidatorsHash:
			h.nextValidatorsHash, err = bytesOf(f)
		case fHeaderConsensusHash:
			h.consensusHash, err = bytesOf(f)
		case fHeaderAppHash:
			h.appHash, err = bytesOf(f)
		case fHeaderLastResultsHash:
			h.lastResultsHash, err = bytesOf(f)
		case fHeaderEvidenceHash:
			h.evidenceHash, err = bytesOf(f)
		case fHeaderProposerAddress:
			h.proposerAddress, err = bytesOf(f)
		}
		return err
	})
}

// decodeConsensus merges the version.Consensus b into h's version.
func decodeConsensus(b []byte, h *header) error {
	return fields(b, func(f field) error {
		var err error
		switch f.num {
		case fConsensusBlock:
			h.versionBlock, err = varintOf(f)
		case fConsensusApp:
			h.versionApp, err = varintOf(f)
		}
		return err
	})
}

// decodeBlockID merges the BlockID b into id.
func decodeBlockID(b []byte, id *blockID) error {
	return fields(b, func(f field) error {
		var err error
		switch f.num {
		case fBlockIDHash:
			id.hash, err = bytesOf(f)
		case fBlockIDParts:
			if err = f.want(protowire.BytesType); err == nil {
				err = decodeParts(f.bytes, &id.parts)
			}
		}
		return err
	})
}

// decodeParts merges the PartSetHeader b into p.
func decodeParts(b []byte, p *partSetHeader) error {
	return fields(b, func(f field) error {
		var err error
		var v uint64
		switch f.num {
		case fPartsTotal:
			v, err = varintOf(f)
			p.total = uint32(v)
		case fPartsHash:
			p.hash, err = bytesOf(f)
		}
		return err
	})
}

// decodeTimestamp decodes a google.protobuf.Timestamp and refuses one out
// of range, as types.StdTimeUnmarshal does.
func decodeTimestamp(b []byte) (timestamp, error) {
	var t timestamp
	err := fields(b, func(f field) error {
		var err error
		var v uint64
		switch f.num {
		case fTimeSeconds:
			v, err = varintOf(f)
			t.seconds = int64(v)
		case fTimeNanos:
			v, err = varintOf(f)
			t.nanos = int32(v)
		}
		return err
	})
	if err != nil {
		return timestamp{}, err
	}
	if t.seconds < minValidSeconds || t.seconds >= maxValidSeconds || t.nanos < 0 || t.nanos >= 1e9 {
		return timestamp{}, errors.New("a timestamp is out of range")
	}
	return t, nil
}

// decodeCommit merges the Commit b into c.
func decodeCommit(b []byte, c *commit) error {
	return fields(b, func(f field) error {
		var err error
		var v uint64
		switch f.num {
		case fCommitHeight:
			v, err = varintOf(f)
			c.height = int64(v)
		case fCommitRound:
			v, err = varintOf(f)
			c.round = int32(v)
		case fCommitBlockID:
			if err = f.want(protowire.BytesType); err == nil {
				err = decodeBlockID(f.bytes, &c.blockID)
			}
		case fCommitSignatures:
			if err = f.want(protowire.BytesType); err == nil {
				cs := commitSig{timestamp: zeroTime}
				err = decodeCommitSig(f.bytes, &cs)
				c.signatures = append(c.signatures, cs)
			}
		}
		return err
	})
}

// decodeCommitSig merges the CommitSig b into cs.
func decodeCommitSig(b []byte, cs *commitSig) error {
	return fields(b, func(f field) error {
		var err error
		var v uint64
		switch f.num {
		case fSigFlag:
			v, err = varintOf(f)
			cs.flag = int32(v)
		case fSigAddress:
			cs.address, err = bytesOf(f)
		case fSigTimestamp:
			if err = f.want(protowire.BytesType); err == nil {
				cs.timestamp, err = decodeTimestamp(f.bytes)
			}
		case fSigSignature:
			cs.signature, err = bytesOf(f)
		}
		return err
	})
}

// The encoders below write what gogoproto's Marshal writes: fields in
// number order, a proto3 scalar or bytes field only when it is not zero or
// empty, a non-nullable embedded message (and a stdtime timestamp) always.

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// appendMessage appends the embedded message m, even if empty.
func appendMessage(b []byte, num protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

// encodeTimestamp is types.StdTimeMarshal of a valid timestamp.
func encodeTimestamp(t timestamp) []byte {
	b := appendVarintField(nil, fTimeSeconds, uint64(t.seconds))
	return appendVarintField(b, fTimeNanos, uint64(int64(t.nanos)))
}

// encodeParts is a PartSetHeader, or a CanonicalPartSetHeader: the same
// fields.
func encodeParts(p partSetHeader) []byte {
	b := appendVarintField(nil, fPartsTotal, uint64(p.total))
	return appendBytesField(b, fPartsHash, p.hash)
}

// encodeBlockID is a BlockID, or a CanonicalBlockID: the same fields.
func encodeBlockID(id blockID) []byte {
	b := appendBytesField(nil, fBlockIDHash, id.hash)
	return appendMessage(b, fBlockIDParts, encodeParts(id.parts))
}

// encodeConsensus is the header's version.Consensus.
func encodeConsensus(h *header) []byte {
	b := appendVarintField(nil, fConsensusBlock, h.versionBlock)
	return appendVarintField(b, fConsensusApp, h.versionApp)
}

// encodeCanonicalVote is the CanonicalVote of a precommit, length-delimited
// (protoio.MarshalDelimited); blockID is nil for a vote for no block.
func encodeCanonicalVote(chainID string, height int64, round int64, id *blockID, ts timestamp) []byte {
	b := appendVarintField(nil, fVoteType, precommitType)
	if height != 0 {
		b = protowire.AppendTag(b, fVoteHeight, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, uint64(height))
	}
	if round != 0 {
		b = protowire.AppendTag(b, fVoteRound, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, uint64(round))
	}
	if id != nil {
		b = appendMessage(b, fVoteBlockID, encodeBlockID(*id))
	}
	b = appendMessage(b, fVoteTimestamp, encodeTimestamp(ts))
	b = appendBytesField(b, fVoteChainID, []byte(chainID))
	return protowire.AppendBytes(nil, b)
}

// encodeSimpleValidator is the SimpleValidator of an Ed25519 validator.
func encodeSimpleValidator(pub []byte, power int64) []byte {
	pk := protowire.AppendTag(nil, fPubKeyEd25519, protowire.BytesType)
	pk = protowire.AppendBytes(pk, pub)
	b := appendMessage(nil, fValidatorPubKey, pk)
	return appendVarintField(b, fValidatorPower, uint64(power))
}

// cdcString, cdcInt64 and cdcBytes are types.cdcEncode for each type it
// handles: an empty string or byte slice is nil, else the gogoproto
// wrapper message (StringValue, Int64Value, BytesValue); an int64 is never
// nil.
func cdcString(s string) []byte {
	if s == "" {
		return nil
	}
	return appendBytesField(nil, fWrapperValue, []byte(s))
}

func cdcInt64(i int64) []byte {
	return appendVarintField([]byte{}, fWrapperValue, uint64(i))
}

func cdcBytes(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return appendBytesField(nil, fWrapperValue, v)
}
