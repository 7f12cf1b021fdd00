package dcc

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/veraison/go-cose"
)

// sign1Bytes returns an untagged COSE_Sign1 whose protected bucket is
// {alg: ES256, kid: kid}.
func sign1Bytes(t *testing.T, kid []byte) []byte {
	t.Helper()
	prot, err := cbor.Marshal(map[int]any{1: -7, 4: kid})
	require.NoError(t, err)
	b, err := cbor.Marshal([]any{prot, map[int]any{}, []byte("payload"), []byte{1}})
	require.NoError(t, err)
	return b
}

// TestHeaderCacheHandsOutCopies: a message decoded from the cache has
// maps of its own, so changing one message's headers changes neither the
// next message's nor the cache.
func TestHeaderCacheHandsOutCopies(t *testing.T) {
	raw := sign1Bytes(t, []byte("copies-kid"))
	first, err := decodeSign1(raw, false) // a miss: go-cose decodes, the cache keeps it
	require.NoError(t, err)
	delete(first.Headers.Protected, cose.HeaderLabelAlgorithm)
	first.Headers.Unprotected[cose.HeaderLabelKeyID] = []byte("x")
	for range 2 { // hits
		m, err := decodeSign1(raw, false)
		require.NoError(t, err)
		alg, err := m.Headers.Protected.Algorithm()
		require.NoError(t, err)
		assert.Equal(t, cose.AlgorithmES256, alg)
		assert.Empty(t, m.Headers.Unprotected)
		delete(m.Headers.Protected, cose.HeaderLabelAlgorithm)
	}
}

// TestHeaderCacheIsBounded: distinct headers fill the cache to
// maxCachedHeaders at most, then it starts again; buckets longer than
// maxCachedHeaderLen are decoded every time and never kept; every message
// decodes the same either way.
func TestHeaderCacheIsBounded(t *testing.T) {
	for i := range maxCachedHeaders + 10 {
		kid := binary.BigEndian.AppendUint32([]byte("bound-"), uint32(i))
		m, err := decodeSign1(sign1Bytes(t, kid), false)
		require.NoError(t, err)
		require.Equal(t, kid, m.Headers.Protected[cose.HeaderLabelKeyID])
		headerCache.RLock()
		n := len(headerCache.m)
		headerCache.RUnlock()
		require.LessOrEqual(t, n, maxCachedHeaders)
	}
	long := make([]byte, maxCachedHeaderLen)
	m, err := decodeSign1(sign1Bytes(t, long), false)
	require.NoError(t, err)
	assert.Equal(t, long, m.Headers.Protected[cose.HeaderLabelKeyID])
	headerCache.RLock()
	defer headerCache.RUnlock()
	for k := range headerCache.m {
		assert.LessOrEqual(t, len(k), maxCachedHeaderLen)
	}
}

// TestHeaderCacheConcurrent: concurrent decodings of the same and of
// distinct headers (run under -race) all read their own kid.
func TestHeaderCacheConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				kid := []byte{'c', byte(g), byte(i % 3)}
				m, err := decodeSign1(sign1Bytes(t, kid), false)
				if !assert.NoError(t, err) || !assert.Equal(t, kid, m.Headers.Protected[cose.HeaderLabelKeyID]) {
					return
				}
			}
		})
	}
	wg.Wait()
}
