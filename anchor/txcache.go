package anchor

import (
	"bytes"
	"crypto/sha256"
)

// txCacheSize bounds the decoded-transaction cache. A full batch decodes to
// about 1 MB, so the cache stays under a few tens of MB.
const txCacheSize = 32

// txCache remembers decoded transactions by the SHA-256 of their bytes.
// A transaction is decoded in CheckTx, then again in every mempool recheck
// and in FinalizeBlock on every validator; decoding is a pure function of
// the bytes, so caching it changes no outcome, only the CPU spent.
// Eviction is first-in first-out through a ring; the map is never iterated.
type txCache struct {
	m    map[[32]byte]*Tx
	ring [txCacheSize][32]byte
	used [txCacheSize]bool
	next int
}

func (c *txCache) decode(raw []byte) (*Tx, error) {
	h := sha256.Sum256(raw)
	if tx, ok := c.m[h]; ok {
		return tx, nil
	}
	tx, err := DecodeTx(raw)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = make(map[[32]byte]*Tx, txCacheSize)
	}
	if c.used[c.next] {
		delete(c.m, c.ring[c.next])
	}
	c.ring[c.next], c.used[c.next] = h, true
	c.next = (c.next + 1) % txCacheSize
	c.m[h] = tx
	return tx, nil
}

// verifiedBy reports whether tx's signature verifies under k, remembering
// a success for that exact key (governance may change a writer's key
// between two checks of one transaction).
func (tx *Tx) verifiedBy(k *WriterKey) bool {
	if tx.verifiedKey != nil && tx.verifiedAlg == k.Alg && bytes.Equal(tx.verifiedKey, k.Key) {
		return true
	}
	if !k.verify(tx.signing, tx.sig) {
		return false
	}
	tx.verifiedAlg, tx.verifiedKey = k.Alg, bytes.Clone(k.Key)
	return true
}
