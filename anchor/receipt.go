package anchor

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"
	"github.com/transparency-dev/merkle/proof"

	"github.com/ssi-project/ssi/internal/jsonx"
)

// Receipt proves that Entry is in the ledger's log: the inclusion proof of
// leaf LeafIndex in the tree of TreeSize leaves leads to the app hash that
// the header at Height+1 carries (CometBFT puts the app hash of block H in
// header H+1), and that header's commit is signed by the validators.
// It is self-contained and serialises to JSON.
type Receipt struct {
	Entry          Entry    `json:"entry"`
	LeafIndex      uint64   `json:"leaf_index"`
	TreeSize       uint64   `json:"tree_size"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	Height         int64    `json:"height"`
	// SignedHeader is the protobuf encoding of the CometBFT SignedHeader
	// (header and commit) at Height+1.
	SignedHeader   []byte `json:"signed_header"`
	ValidatorsHash []byte `json:"validators_hash"`
}

const (
	maxProofLen        = 64
	maxSignedHeaderLen = 256 << 10
	maxValidators      = 150
	maxPower           = 1 << 40
)

// ParseReceipt decodes a receipt from untrusted JSON. It checks the shape
// only; VerifyReceipt checks the proof.
func ParseReceipt(b []byte) (*Receipt, error) {
	if len(b) > 2*maxSignedHeaderLen {
		return nil, ErrInvalidReceipt.With("the receipt is too large", nil)
	}
	var r Receipt
	if err := jsonx.Unmarshal(b, &r, true); err != nil {
		return nil, ErrInvalidReceipt.With("", err)
	}
	return &r, nil
}

// TrustedValidator is one pinned validator: its Ed25519 consensus public
// key and its voting power.
type TrustedValidator struct {
	PubKey []byte `json:"pub_key"`
	Power  int64  `json:"power"`
}

// Trust is what a verifier pins: the chain ID and the validator set.
// Nothing else (no server, no RPC) is needed to verify a receipt.
type Trust struct {
	ChainID    string             `json:"chain_id"`
	Validators []TrustedValidator `json:"validators"`
}

// TrustFromGenesis reads the chain ID and validator set from a CometBFT
// genesis file.
func TrustFromGenesis(path string) (Trust, error) {
	doc, err := types.GenesisDocFromFile(path)
	if err != nil {
		return Trust{}, fmt.Errorf("reading the genesis: %w", err)
	}
	t := Trust{ChainID: doc.ChainID}
	for _, v := range doc.Validators {
		t.Validators = append(t.Validators, TrustedValidator{PubKey: v.PubKey.Bytes(), Power: v.Power})
	}
	return t, nil
}

// validatorSet builds the CometBFT validator set, refusing malformed input
// before CometBFT code (which panics on some of it) sees it.
func (t Trust) validatorSet() (*types.ValidatorSet, error) {
	if t.ChainID == "" || len(t.Validators) == 0 || len(t.Validators) > maxValidators {
		return nil, ErrInvalidReceipt.With("the trust configuration is incomplete", nil)
	}
	seen := map[string]bool{}
	vals := make([]*types.Validator, 0, len(t.Validators))
	for _, v := range t.Validators {
		if len(v.PubKey) != ed25519.PublicKeySize || v.Power <= 0 || v.Power > maxPower || seen[string(v.PubKey)] {
			return nil, ErrInvalidReceipt.With("the trust configuration has a bad validator", nil)
		}
		seen[string(v.PubKey)] = true
		vals = append(vals, types.NewValidator(cmted25519.PubKey(bytes.Clone(v.PubKey)), v.Power))
	}
	return types.NewValidatorSet(vals), nil
}

// VerifyReceipt checks r offline against the pinned trust:
//
//  1. the entry is well formed and its leaf hash, with the inclusion proof,
//     gives a root equal to the app hash of the header at r.Height+1;
//  2. that header belongs to the pinned chain and names the pinned
//     validator set;
//  3. its commit carries valid signatures of more than 2/3 of the pinned
//     voting power (every signature present must verify).
//
// Any failure is ErrReceiptUnverified (or ErrInvalidReceipt for a receipt
// or trust that is malformed); it never panics and needs no network.
func VerifyReceipt(r *Receipt, trust Trust) error {
	if r == nil {
		return ErrInvalidReceipt.With("no receipt", nil)
	}
	vals, err := trust.validatorSet()
	if err != nil {
		return err
	}
	if err := r.Entry.validate(); err != nil {
		return ErrReceiptUnverified.With("the entry is not valid", err)
	}
	if len(r.InclusionProof) > maxProofLen || len(r.SignedHeader) > maxSignedHeaderLen {
		return ErrInvalidReceipt.With("the receipt is too large", nil)
	}
	sh, err := decodeSignedHeader(r.SignedHeader)
	if err != nil {
		return err
	}
	if err := sh.ValidateBasic(trust.ChainID); err != nil {
		return ErrReceiptUnverified.With("the header is not for the pinned chain", err)
	}
	if r.Height < 1 || sh.Height != r.Height+1 {
		return ErrReceiptUnverified.With("the header is not the one after the anchoring block", nil)
	}
	if !bytes.Equal(sh.ValidatorsHash, vals.Hash()) || !bytes.Equal(r.ValidatorsHash, vals.Hash()) {
		return ErrReceiptUnverified.With("the header names another validator set", nil)
	}
	if err := vals.VerifyCommitLightAllSignatures(trust.ChainID, sh.Commit.BlockID, sh.Height, sh.Commit); err != nil {
		return ErrReceiptUnverified.With("the header is not signed by more than 2/3 of the pinned validators", err)
	}
	leaf := hasher.HashLeaf(r.Entry.leafBytes())
	if err := proof.VerifyInclusion(hasher, r.LeafIndex, r.TreeSize, leaf, r.InclusionProof, sh.AppHash); err != nil {
		return ErrReceiptUnverified.With("the inclusion proof does not lead to the signed app hash", err)
	}
	return nil
}

func decodeSignedHeader(b []byte) (*types.SignedHeader, error) {
	var pb cmtproto.SignedHeader
	if err := pb.Unmarshal(b); err != nil {
		return nil, ErrInvalidReceipt.With("the signed header does not decode", err)
	}
	if pb.Header == nil || pb.Commit == nil {
		return nil, ErrInvalidReceipt.With("the signed header is incomplete", nil)
	}
	sh, err := types.SignedHeaderFromProto(&pb)
	if err != nil {
		return nil, ErrInvalidReceipt.With("the signed header is malformed", err)
	}
	return sh, nil
}

func encodeSignedHeader(sh *types.SignedHeader) ([]byte, error) {
	b, err := sh.ToProto().Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the signed header: %w", err)
	}
	return b, nil
}

// MarshalTrust and ReadTrust store a Trust as JSON, e.g. in a verifier's
// configuration.
func MarshalTrust(t Trust) ([]byte, error) { return json.MarshalIndent(t, "", "  ") }

// ReadTrust reads a Trust written by MarshalTrust.
func ReadTrust(path string) (Trust, error) {
	var t Trust
	b, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("reading the trust file: %w", err)
	}
	if err := jsonx.Unmarshal(b, &t, true); err != nil {
		return t, fmt.Errorf("decoding the trust file: %w", err)
	}
	return t, nil
}
