package trust

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/ssi-project/ssi/internal/jsonx"
)

const (
	maxValidators = 150
	maxPower      = 1 << 40
)

// TrustedValidator is one pinned validator: its Ed25519 consensus public
// key and its voting power.
type TrustedValidator struct {
	PubKey []byte `json:"pub_key"`
	Power  int64  `json:"power"`
}

// Trust is what a verifier pins: the chain ID and the validator set.
// Nothing else (no server, no RPC) is needed to verify a receipt or a
// latest-version proof.
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
// (ErrInvalidTrust) before CometBFT code (which panics on some of it) sees
// it.
func (t Trust) validatorSet() (*types.ValidatorSet, error) {
	if t.ChainID == "" || len(t.Validators) == 0 || len(t.Validators) > maxValidators {
		return nil, ErrInvalidTrust.With("the trust configuration is incomplete", nil)
	}
	seen := map[string]bool{}
	vals := make([]*types.Validator, 0, len(t.Validators))
	for _, v := range t.Validators {
		if len(v.PubKey) != ed25519.PublicKeySize || v.Power <= 0 || v.Power > maxPower || seen[string(v.PubKey)] {
			return nil, ErrInvalidTrust.With("the trust configuration has a bad validator", nil)
		}
		seen[string(v.PubKey)] = true
		vals = append(vals, types.NewValidator(cmted25519.PubKey(bytes.Clone(v.PubKey)), v.Power))
	}
	return types.NewValidatorSet(vals), nil
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
