package trust

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/psr"
)

// ErrChainUnverified: a did:psr version is not what its DID's
// controller-signed operations, replayed from the creation, make: the
// registry (which anchors every version) anchored a version no controller
// authorized, or serves operations that do not lead to it.
var ErrChainUnverified = errs.E(errs.Forbidden, "did_chain_unverified",
	"the DID version is not the result of its controller-signed operations")

const (
	maxChainOps     = 4096
	maxCachedChains = 4096
)

// verifyChain checks that version version of d, whose document has the
// SHA-256 digest sum (hex), is what d's operations make: it fetches them
// from the registry (GET /registry/v1/dids/{did}/operations?version=n)
// and replays them with the method's own code (psr.Create, which also
// checks that d is the self-certifying identifier of its create
// operation, then psr.Apply, which checks each controller signature). The
// digests of the versions it verified are kept (they never change), so a
// DID's chain is fetched again only for a version it has not seen.
func (c *Client) verifyChain(ctx context.Context, d string, version uint64, sum string) error {
	c.mu.Lock()
	known := c.chains[d]
	c.mu.Unlock()
	if version <= uint64(len(known)) {
		if known[version-1] != sum {
			return ErrChainUnverified.With("the document is not the one the DID's operations made for that version", nil)
		}
		return nil
	}
	if version > maxChainOps {
		return ErrChainUnverified.With("the DID has too many versions to verify", nil)
	}
	status, _, b, err := c.get(ctx, "/registry/v1/dids/"+d+"/operations?version="+strconv.FormatUint(version, 10), "application/json")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return problemError(status, b)
	}
	var w struct {
		DID        string   `json:"did"`
		Operations []string `json:"operations"`
	}
	if err := jsonx.Unmarshal(b, &w, false); err != nil {
		return ErrRegistry.With("the operations do not parse", err)
	}
	sums, err := replay(d, w.Operations)
	if err != nil {
		return err
	}
	if uint64(len(sums)) != version || sums[version-1] != sum {
		return ErrChainUnverified.With("the DID's operations do not make the served version", nil)
	}
	c.mu.Lock()
	if len(c.chains) >= maxCachedChains {
		clear(c.chains)
	}
	if len(sums) > len(c.chains[d]) {
		c.chains[d] = sums
	}
	c.mu.Unlock()
	return nil
}

// replay runs the operations of d from its creation and returns the
// SHA-256 (hex) of each version's document. It never panics on any input.
func replay(d string, ops []string) ([]string, error) {
	if len(ops) == 0 || len(ops) > maxChainOps {
		return nil, ErrChainUnverified.With("no operations, or too many", nil)
	}
	st, _, err := psr.Create(ops[0])
	if err != nil {
		return nil, ErrChainUnverified.With("the create operation does not verify", err)
	}
	if st.DID != d {
		return nil, ErrChainUnverified.With("the create operation is another DID's", nil)
	}
	sums := make([]string, 0, len(ops))
	for i := 0; ; i++ {
		doc, err := st.DocumentBytes()
		if err != nil {
			return nil, ErrChainUnverified.With("", err)
		}
		h := sha256.Sum256(doc)
		sums = append(sums, hex.EncodeToString(h[:]))
		if i+1 == len(ops) {
			return sums, nil
		}
		if st, err = psr.Apply(st, ops[i+1]); err != nil {
			return nil, ErrChainUnverified.With("operation "+strconv.Itoa(i+2)+" does not verify", err)
		}
	}
}
