package qr

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mr-tron/base58"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jose/josetest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// The reference vaccination pass, as the health agency of `ssi dev`
// issues it (issuer.DevConfigs and issuer's claimsJSON, mirrored here
// because a format package's tests do not build the issuer): an SD-JWT VC
// signed ES256 by a did:psr issuer, with cnf.jwk, a status-list entry,
// and the vaccination-pass claims, each selectively disclosable in the
// issuer's order (the configured claims, then the derived ones).
const (
	referenceVCT       = "urn:ssi:vct:vaccination-pass:1" // cmd/ssi VaccinationVCT
	referencePublicURL = "https://health.example.gov"     // a production issuer's public URL
	// OfflineBudget is the largest QR version the offline presentation
	// may need at level L (DESIGN §2).
	offlineBudget = 22
)

var referenceDisclose = []string{"/given_name", "/family_name", "/birth_date", "/vaccinations",
	"/vaccinated_within_policy", "/age_over_18", "/age_over_65"}

// registryDID returns a did:psr DID like the registry's: base58 of a
// SHA-256.
func registryDID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "did:psr:" + base58.Encode(sum[:])
}

type reference struct {
	issuer, holder *josetest.Signer
	issuerDID      string
	venueDID       string
	now            time.Time
	credential     string // as the wallet stores it
}

func newReference(t testing.TB) *reference {
	t.Helper()
	r := &reference{
		issuer: josetest.New(t, keys.ES256), holder: josetest.New(t, keys.ES256),
		issuerDID: registryDID("health"), venueDID: registryDID("venue"),
		now: time.Unix(1_800_000_000, 0),
	}
	var list [16]byte
	_, _ = rand.Read(list[:])
	h := r.holder.JWK()
	claims, err := sdjwt.VCClaims{
		Issuer: r.issuerDID, Type: referenceVCT, IssuedAt: r.now.Add(-30 * 24 * time.Hour),
		Expiry: r.now.Add(335 * 24 * time.Hour), HolderKey: &h,
		Status: &sdjwt.StatusRef{Index: 871_234, URI: referencePublicURL + "/status/" + hex.EncodeToString(list[:])},
		Subject: map[string]any{
			"given_name": "Anna Maria", "family_name": "van der Berg-Janssen", "birth_date": "1987-04-12",
			"vaccinations": []any{
				map[string]any{"date": "2027-10-02", "vaccine": "Comirnaty JN.1", "place": "GGD Utrecht"},
				map[string]any{"date": "2026-10-14", "vaccine": "Comirnaty KP.2", "place": "GGD Utrecht"},
			},
			"vaccinated_within_policy": true, "age_over_18": true, "age_over_65": false,
		},
	}.JSON()
	require.NoError(t, err)
	is := &sdjwt.Issuer{Signer: r.issuer, Header: map[string]any{"kid": r.issuerDID + "#issuing-1"}}
	issued, err := is.Issue(sdjwt.Request{Claims: claims, Disclose: referenceDisclose})
	require.NoError(t, err)
	r.credential = issued.String()
	return r
}

// offlineAudience is the KB-JWT aud of an offline presentation to venue
// (docs/offline-qr.md).
func offlineAudience(venueDID string) string { return "offline:" + venueDID }

// present shows the claims at reveal offline: a wallet-chosen 128-bit
// nonce, the venue's offline audience, iat now.
func (r *reference) present(t testing.TB, reveal []string) (presentation, nonce string) {
	t.Helper()
	var n [16]byte
	_, _ = rand.Read(n[:])
	nonce = base64.RawURLEncoding.EncodeToString(n[:])
	p, err := sdjwt.Present(r.credential, reveal, &sdjwt.KeyBinding{
		Signer: r.holder, Nonce: nonce, Audience: offlineAudience(r.venueDID), IssuedAt: r.now,
	})
	require.NoError(t, err)
	return p, nonce
}

func (r *reference) verifier() *sdjwt.Verifier {
	return &sdjwt.Verifier{
		IssuerKey: func(iss string, h *jose.Header) (jose.PublicKey, error) {
			if iss != r.issuerDID || h.Kid != r.issuerDID+"#issuing-1" {
				return jose.PublicKey{}, jose.ErrUnknownKey
			}
			return r.issuer.PublicKey(), nil
		},
		Now: func() time.Time { return r.now },
	}
}

// referenceReveal are the 3 disclosed claims of the reference
// presentation: the predicate and two photo-ID claims.
var referenceReveal = []string{"/vaccinated_within_policy", "/given_name", "/family_name"}

// TestReferencePresentationFitsTheBudget is acceptance point 3's format
// half: the reference presentation (3 disclosed claims + KB-JWT) encodes
// into a QR code of version ≤ 22 at level L, decodes byte-exact, and
// verifies with internal/sdjwt. Salts, keys, signatures and nonces are
// random, so each case is built referenceRuns times, each time with fresh
// keys, and every run must fit. Run with -v for the figures of
// BENCHMARKS.md:
//
//	go test -run 'TestReferencePresentation' -v -count=1 ./internal/qr
func TestReferencePresentationFitsTheBudget(t *testing.T) {
	const referenceRuns = 20
	for _, c := range []struct {
		name   string
		reveal []string
		budget bool
	}{
		{"reference: 3 claims", referenceReveal, true},
		{"entry policy: 4 claims", append([]string{"/birth_date"}, referenceReveal...), false},
		{"all 7 claims", referenceDisclose, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var text, noDict, vL, vM span
			for i := range referenceRuns {
				r := newReference(t)
				p, nonce := r.present(t, c.reveal)
				enc, err := EncodeEnvelope(p)
				require.NoError(t, err)
				back, err := DecodeEnvelope(enc)
				require.NoError(t, err)
				require.Equal(t, p, back, "byte-exact")
				res, err := r.verifier().Verify(back, sdjwt.Options{RequireKeyBinding: true, Nonce: nonce,
					Audience: offlineAudience(r.venueDID), KBMaxAge: 60 * time.Second})
				require.NoError(t, err)
				require.Len(t, res.Disclosures, len(c.reveal))

				l, err := OfflineVersion(enc, L)
				require.NoError(t, err)
				m, err := OfflineVersion(enc, M)
				require.NoError(t, err)
				framed, err := frame(p)
				require.NoError(t, err)
				text.add(len(enc))
				noDict.add(len(Prefix) + base45EncodedLen(len(deflateWithout(t, framed))))
				vL.add(l)
				vM.add(m)
				if i == 0 {
					t.Log("\n" + breakdown(t, p, enc, l, m))
				}
			}
			noDictL, err := OfflineVersion(Prefix+strings.Repeat("0", noDict.max-len(Prefix)), L)
			require.NoError(t, err)
			t.Logf("over %d runs: text %s chars, version %s at L, %s at M; without the dictionary text %s chars (version %d at L for the longest)",
				referenceRuns, text, vL, vM, noDict, noDictL)
			if c.budget {
				assert.LessOrEqual(t, vL.max, offlineBudget, "the reference presentation must fit version %d at level L", offlineBudget)
			}
		})
	}
}

// span is the range of a figure over several runs.
type span struct{ min, max int }

func (s *span) add(v int) {
	if s.max == 0 || v < s.min {
		s.min = v
	}
	s.max = max(s.max, v)
}

func (s span) String() string {
	if s.min == s.max {
		return fmt.Sprint(s.min)
	}
	return fmt.Sprintf("%d–%d", s.min, s.max)
}

// deflateWithout is deflate without the preset dictionary, to show what
// the dictionary saves.
func deflateWithout(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	require.NoError(t, err)
	_, err = w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// breakdown reports the size of each part of p and of each stage of its
// envelope.
func breakdown(t testing.TB, p, text string, vL, vM int) string {
	t.Helper()
	parts, err := sdjwt.Split(p, 0)
	require.NoError(t, err)
	var b strings.Builder
	row := func(name, enc string) {
		raw, err := b64.DecodeString(enc)
		require.NoError(t, err)
		fmt.Fprintf(&b, "%-26s %5d base64url chars  %5d bytes\n", name, len(enc), len(raw))
	}
	jws := func(name, s string) {
		h, rest, _ := strings.Cut(s, ".")
		pl, sig, _ := strings.Cut(rest, ".")
		row(name+" header", h)
		row(name+" payload", pl)
		row(name+" signature", sig)
	}
	jws("issuer JWT", parts.IssuerJWT)
	for i, d := range parts.Disclosures {
		row(fmt.Sprintf("disclosure %d", i+1), d)
	}
	jws("KB-JWT", parts.KBJWT)
	framed, err := frame(p)
	require.NoError(t, err)
	fmt.Fprintf(&b, "%-26s %5d chars\n", "compact SD-JWT+KB", len(p))
	fmt.Fprintf(&b, "%-26s %5d bytes\n", "framed", len(framed))
	fmt.Fprintf(&b, "%-26s %5d bytes (%d without the dictionary)\n", "deflated", len(deflate(framed)), len(deflateWithout(t, framed)))
	fmt.Fprintf(&b, "%-26s %5d chars (prefix %d + Base45)\n", "envelope text", len(text), len(Prefix))
	fmt.Fprintf(&b, "%-26s L: version %d (%d modules), M: version %d (%d modules)\n", "QR code", vL, 17+4*vL, vM, 17+4*vM)
	return b.String()
}

// referenceEnvelope is one reference presentation and its envelope.
func referenceEnvelope(b *testing.B) (presentation, text string) {
	r := newReference(b)
	p, _ := r.present(b, referenceReveal)
	text, err := EncodeEnvelope(p)
	require.NoError(b, err)
	b.ReportAllocs()
	return p, text
}

// BenchmarkDecodeEnvelope is the verifier's cost of one scanned reference
// presentation before any signature: Base45, inflate, frame, rebuild.
func BenchmarkDecodeEnvelope(b *testing.B) {
	_, text := referenceEnvelope(b)
	for b.Loop() {
		if _, err := DecodeEnvelope(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEnvelope is the wallet's cost of one envelope (DEFLATE
// at level 9 dominates).
func BenchmarkEncodeEnvelope(b *testing.B) {
	p, _ := referenceEnvelope(b)
	for b.Loop() {
		if _, err := EncodeEnvelope(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeOfflineQR is the wallet's cost of the symbol and its PNG.
func BenchmarkEncodeOfflineQR(b *testing.B) {
	_, text := referenceEnvelope(b)
	for b.Loop() {
		sym, err := EncodeOffline(text)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sym.PNG(); err != nil {
			b.Fatal(err)
		}
	}
}
