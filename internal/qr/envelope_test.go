package qr

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// randomPart is the base64url text of n random bytes; with text set, the
// bytes are JSON-like text (which deflates, as real headers, payloads and
// disclosures do), else uniform (as signatures and digests are).
func randomPart(rng *rand.Rand, n int, text bool) string {
	const letters = `{}[]",:_abcdefghijklmnopqrstuvwxyz0123456789`
	b := make([]byte, n)
	for i := range b {
		if text {
			b[i] = letters[rng.IntN(len(letters))]
		} else {
			b[i] = byte(rng.UintN(256))
		}
	}
	return b64.EncodeToString(b)
}

// randomSDJWT is a compact SD-JWT of random parts: n disclosures of 1 to
// maxLen bytes, and a KB-JWT when kb is set. Every part length modulo 3
// occurs, so every base64url tail length does.
func randomSDJWT(rng *rand.Rand, n, maxLen int, kb bool) string {
	jws := func() string {
		return randomPart(rng, 1+rng.IntN(maxLen), true) + "." + randomPart(rng, 1+rng.IntN(4*maxLen), true) +
			"." + randomPart(rng, 1+rng.IntN(96), false)
	}
	var b strings.Builder
	b.WriteString(jws())
	b.WriteByte('~')
	for range n {
		b.WriteString(randomPart(rng, 1+rng.IntN(maxLen), rng.IntN(4) > 0))
		b.WriteByte('~')
	}
	if kb {
		b.WriteString(jws())
	}
	return b.String()
}

// TestEnvelopeRoundTripProperty: decode(encode(x)) == x byte-exact over
// random SD-JWTs (0 to 256 disclosures, parts of every size class, with
// and without a KB-JWT). An input whose envelope would not fit a QR code
// must be refused as qr_text_too_long and nothing else; enough inputs
// must fit for the property to mean something.
func TestEnvelopeRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 15))
	fitted, kbs, many := 0, 0, 0
	for i := range 1000 {
		n := rng.IntN(12)
		if i%10 == 0 {
			n = rng.IntN(sdjwt.MaxDisclosures + 1)
		}
		maxLen := []int{3, 40, 200}[rng.IntN(3)]
		kb := rng.IntN(2) == 0
		in := randomSDJWT(rng, n, maxLen, kb)
		text, err := EncodeEnvelope(in)
		if err != nil {
			require.Equal(t, "qr_text_too_long", errs.CodeOf(err), "input %d", i)
			continue
		}
		require.True(t, strings.HasPrefix(text, Prefix))
		require.LessOrEqual(t, len(text), MaxTextSize)
		out, err := DecodeEnvelope(text)
		require.NoError(t, err, "input %d", i)
		require.Equal(t, in, out, "input %d", i)
		fitted++
		if kb {
			kbs++
		}
		if n > 100 {
			many++
		}
	}
	t.Logf("%d fitted, %d with a KB-JWT, %d with over 100 disclosures", fitted, kbs, many)
	assert.Greater(t, fitted, 700)
	assert.Greater(t, kbs, 300)
	assert.Greater(t, many, 10)
}

// TestEnvelopeKeepsRealSDJWTs: SD-JWTs from internal/sdjwt's issuer, with
// and without key binding, come back byte-exact and still verify.
func TestEnvelopeKeepsRealSDJWTs(t *testing.T) {
	r := newReference(t)
	p, _ := r.present(t, nil)
	for _, in := range []string{r.credential, p, strings.TrimSuffix(r.credential, "~")[:strings.Index(r.credential, "~")+1]} {
		text, err := EncodeEnvelope(in)
		require.NoError(t, err)
		out, err := DecodeEnvelope(text)
		require.NoError(t, err)
		require.Equal(t, in, out)
	}
}

// envelopeOf wraps an arbitrary frame the way EncodeEnvelope does, to
// build hostile envelopes.
func envelopeOf(f []byte) string { return Prefix + base45Encode(deflate(f)) }

// frameOf builds a frame from a flags byte, a disclosure count and parts.
func frameOf(flags byte, n uint64, parts ...[]byte) []byte {
	f := binary.AppendUvarint([]byte{flags}, n)
	for _, p := range parts {
		f = binary.AppendUvarint(f, uint64(len(p)))
		f = append(f, p...)
	}
	return f
}

// TestEncodeEnvelopeRefuses: every input EncodeEnvelope refuses, with its
// code.
func TestEncodeEnvelopeRefuses(t *testing.T) {
	const h, p, s = "eyJhbGciOiJFUzI1NiJ9", "eyJpc3MiOiJ4In0", "c2ln"
	jwt := h + "." + p + "." + s
	big := randomPart(rand.New(rand.NewPCG(1, 1)), MaxFramedSize, false)
	noisy := randomPart(rand.New(rand.NewPCG(1, 2)), 3000, false)
	for _, c := range []struct{ name, in, code string }{
		{"no tilde", jwt, "malformed_sd_jwt"},
		{"an empty disclosure", jwt + "~~", "malformed_sd_jwt"},
		{"a JWT where a disclosure is", jwt + "~" + jwt + "~", "malformed_disclosure"},
		{"an issuer JWT of two parts", h + "." + p + "~", "malformed_sd_jwt"},
		{"an issuer JWT with an empty signature", h + "." + p + ".~", "malformed_sd_jwt"},
		{"a KB-JWT of four parts", jwt + "~" + jwt + ".x", "malformed_sd_jwt"},
		{"a KB-JWT with an empty payload", jwt + "~" + h + ".." + s, "malformed_sd_jwt"},
		{"non-zero trailing bits", jwt + "~AB~", "qr_non_canonical_base64url"}, // AB: 4 bits of B left over
		{"padding", jwt + "~QUI=~", "qr_non_canonical_base64url"},
		{"a line break", h + "." + p[:4] + "\n" + p[4:] + "." + s + "~", "qr_non_canonical_base64url"},
		// Go's decoder skips CR and LF even in strict mode, and one LF after
		// four characters leaves the decoded length as it was: only the
		// re-encoding comparison sees it.
		{"a line break the length hides", jwt + "~QUJD\n~", "qr_non_canonical_base64url"},
		{"base64 instead of base64url", jwt + "~a+b/~", "qr_non_canonical_base64url"},
		{"an impossible length", jwt + "~QUJDR~", "qr_non_canonical_base64url"},
		{"257 disclosures", jwt + strings.Repeat("~QUI", 257) + "~", "too_many_disclosures"},
		{"a frame over the cap", jwt + "~" + big + "~", "qr_envelope_too_large"},
		{"more than a QR code holds", jwt + "~" + noisy + "~", "qr_text_too_long"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := EncodeEnvelope(c.in)
			require.Error(t, err)
			assert.Equal(t, c.code, errs.CodeOf(err))
			assert.Equal(t, errs.Invalid, errs.KindOf(err))
		})
	}
	_, err := EncodeEnvelope(jwt + "~" + strings.Repeat("A", sdjwt.DefaultMaxSize) + "~")
	assert.Equal(t, "token_too_large", errs.CodeOf(err), "sdjwt's size limit comes first")
}

// TestDecodeEnvelopeRefuses: every refusal of the decoder, with its code.
func TestDecodeEnvelopeRefuses(t *testing.T) {
	hdr, pay, sig := []byte(`{"alg":"ES256"}`), []byte(`{}`), []byte("s")
	good := frameOf(0, 1, hdr, pay, sig, []byte(`["s","n","v"]`))
	goodText := envelopeOf(good)
	_, err := DecodeEnvelope(goodText)
	require.NoError(t, err, "the base of the hostile frames is valid")
	deflated := deflate(good)
	// aligned is Base45 of whole triplets, so what is appended to it
	// starts a group of its own.
	aligned := Prefix + base45Encode(deflated[:len(deflated)&^1])
	bomb := envelopeOf(append(frameOf(0, 0, hdr, pay), append(binary.AppendUvarint(nil, 1<<20), make([]byte, 1<<20)...)...))
	for _, c := range []struct{ name, in, code string }{
		{"empty", "", "qr_unknown_prefix"},
		{"an EU DCC", "HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N", "qr_unknown_prefix"},
		{"a URL", "https://venue.example/", "qr_unknown_prefix"},
		{"lower-case prefix", strings.ToLower(Prefix) + goodText[len(Prefix):], "qr_unknown_prefix"},
		{"no version", "SSI:" + goodText[len(Prefix):], "qr_unknown_prefix"},
		{"version 2", "SSI2:" + goodText[len(Prefix):], "qr_unsupported_version"},
		{"version 10", "SSI10:" + goodText[len(Prefix):], "qr_unsupported_version"},
		{"version 0", "SSI0:", "qr_unsupported_version"},
		{"longer than a QR code", Prefix + strings.Repeat("0", MaxTextSize), "qr_text_too_long"},
		{"a trailing line feed", goodText + "\n", "qr_invalid_base45"},
		{"a lower-case character", goodText[:len(goodText)-3] + "a" + goodText[len(goodText)-2:], "qr_base45_character"},
		{"a dangling character", aligned + "0", "qr_invalid_base45"},
		{"a triplet over 65535", aligned + "GGW", "qr_base45_overflow"},
		{"a pair over 255", aligned + "V5", "qr_base45_overflow"},
		{"not DEFLATE", Prefix + base45Encode([]byte{0xff, 0xff, 0xff, 0xff}), "qr_invalid_deflate"},
		{"a truncated stream", Prefix + base45Encode(deflated[:len(deflated)/2]), "qr_invalid_deflate"},
		{"bytes after the stream", Prefix + base45Encode(append(bytes.Clone(deflated), 0)), "qr_invalid_deflate"},
		{"a deflate bomb", bomb, "qr_envelope_too_large"},
		{"an empty frame", envelopeOf(nil), "qr_malformed_envelope"},
		{"a reserved flag", envelopeOf(append([]byte{0x02}, good[1:]...)), "qr_malformed_envelope"},
		{"no count", envelopeOf([]byte{0}), "qr_malformed_envelope"},
		{"a count not in shortest form", envelopeOf(append([]byte{0, 0x81, 0x00}, good[2:]...)), "qr_malformed_envelope"},
		{"257 disclosures", envelopeOf(frameOf(0, 257)), "too_many_disclosures"},
		{"a huge count", envelopeOf([]byte{0, 0xff, 0xff, 0x7f}), "too_many_disclosures"},
		{"a four-byte length", envelopeOf(append(frameOf(0, 0), 0x81, 0x80, 0x80, 0x00)), "qr_malformed_envelope"},
		{"a truncated length", envelopeOf(append(frameOf(0, 0), 0x81)), "qr_malformed_envelope"},
		{"a length not in shortest form", envelopeOf(append(frameOf(0, 0), 0x81, 0x00, 'x')), "qr_malformed_envelope"},
		{"an empty part", envelopeOf(frameOf(0, 0, hdr, nil, sig)), "qr_malformed_envelope"},
		{"a part past the end", envelopeOf(append(frameOf(0, 0, hdr, pay), 5, 'x')), "qr_malformed_envelope"},
		{"a missing disclosure", envelopeOf(frameOf(0, 2, hdr, pay, sig, []byte("d"))), "qr_malformed_envelope"},
		{"a missing KB-JWT", envelopeOf(frameOf(flagKB, 0, hdr, pay, sig)), "qr_malformed_envelope"},
		{"a KB-JWT of two parts", envelopeOf(frameOf(flagKB, 0, hdr, pay, sig, hdr, pay)), "qr_malformed_envelope"},
		{"bytes after the last part", envelopeOf(append(bytes.Clone(good), 0)), "qr_malformed_envelope"},
		{"a part more without the flag", envelopeOf(frameOf(0, 0, hdr, pay, sig, hdr)), "qr_malformed_envelope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := DecodeEnvelope(c.in)
			require.Error(t, err)
			assert.Empty(t, out)
			assert.Equal(t, c.code, errs.CodeOf(err))
			assert.Equal(t, errs.Invalid, errs.KindOf(err))
		})
	}
}

// TestInflateStopsAtTheCap: a deflate bomb (1 MiB of frame in about 1 KB
// of DEFLATE, well inside a QR code) is refused after at most
// MaxFramedSize+1 bytes of output, so decoding it allocates a small
// multiple of the cap and nothing like the bomb's size.
func TestInflateStopsAtTheCap(t *testing.T) {
	const bombSize = 1 << 20
	text := envelopeOf(make([]byte, bombSize))
	require.Less(t, len(text), MaxTextSize, "the bomb fits a QR code")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := DecodeEnvelope(text)
	runtime.ReadMemStats(&after)
	require.Equal(t, "qr_envelope_too_large", errs.CodeOf(err))
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("decoding the bomb allocated %d bytes", allocated)
	assert.Less(t, allocated, uint64(bombSize/4))
}

// TestEnvelopeErrorsQuoteNothing: no refusal detail carries input bytes.
func TestEnvelopeErrorsQuoteNothing(t *testing.T) {
	const secret = "SECRETSECRET"
	r := newReference(t)
	p, _ := r.present(t, referenceReveal)
	for _, in := range []string{secret, "SSI1:" + secret, "SSI1:" + secret + "A", p + secret} {
		_, err := DecodeEnvelope(in)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
	}
	for _, in := range []string{secret, p + "~" + secret + "=", "x.y.z~" + strings.Repeat("~"+secret, 300)} {
		_, err := EncodeEnvelope(in)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
	}
}
