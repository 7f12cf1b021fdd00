package trust

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

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

// maxGenesisLen bounds the genesis file TrustFromGenesis reads.
const maxGenesisLen = 16 << 20

// genesisDoc is the part of a CometBFT genesis file (types.GenesisDoc, as
// CometBFT's JSON writes it) that a Trust is made of.
type genesisDoc struct {
	ChainID    string `json:"chain_id"`
	Validators []struct {
		Address string `json:"address"`
		PubKey  struct {
			Type  string `json:"type"`
			Value []byte `json:"value"` // base64
		} `json:"pub_key"`
		Power string `json:"power"` // an int64 in decimal, as CometBFT's JSON writes it
	} `json:"validators"`
}

// TrustFromGenesis reads the chain ID and validator set from a CometBFT
// genesis file. It refuses, as CometBFT does, a missing or over-long chain
// ID, a validator with no power or whose address does not match its key,
// and any key type but Ed25519; Trust.validatorSet checks the rest when the
// trust is used.
func TrustFromGenesis(path string) (Trust, error) {
	f, err := os.Open(path)
	if err != nil {
		return Trust{}, fmt.Errorf("reading the genesis: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGenesisLen+1))
	if err != nil {
		return Trust{}, fmt.Errorf("reading the genesis: %w", err)
	}
	if len(b) > maxGenesisLen {
		return Trust{}, errors.New("reading the genesis: the file is too large")
	}
	var doc genesisDoc
	if err := jsonx.Unmarshal(b, &doc, false); err != nil {
		return Trust{}, fmt.Errorf("decoding the genesis: %w", err)
	}
	if doc.ChainID == "" || len(doc.ChainID) > maxChainIDLen {
		return Trust{}, errors.New("decoding the genesis: the chain ID is missing or too long")
	}
	if len(doc.Validators) > maxValidators {
		return Trust{}, errors.New("decoding the genesis: too many validators")
	}
	t := Trust{ChainID: doc.ChainID}
	for i, v := range doc.Validators {
		if v.PubKey.Type != "tendermint/PubKeyEd25519" || len(v.PubKey.Value) != ed25519.PublicKeySize {
			return Trust{}, fmt.Errorf("decoding the genesis: validator %d does not have an Ed25519 key", i)
		}
		power, err := strconv.ParseInt(v.Power, 10, 64)
		if err != nil || power == 0 {
			return Trust{}, fmt.Errorf("decoding the genesis: validator %d has no valid power", i)
		}
		if v.Address != "" && !strings.EqualFold(v.Address, hex.EncodeToString(validatorAddress(v.PubKey.Value))) {
			return Trust{}, fmt.Errorf("decoding the genesis: validator %d's address does not match its key", i)
		}
		t.Validators = append(t.Validators, TrustedValidator{PubKey: v.PubKey.Value, Power: power})
	}
	return t, nil
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
