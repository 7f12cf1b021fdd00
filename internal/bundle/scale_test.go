package bundle

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/statuslist"
)

// anchorBytes is the JSON size of one anchor (receipt + latest-version
// proof) as `ssi dev` serves it, one validator (TestTrustBundleOffline
// logs it: 2,948 bytes); a 4-validator ledger adds three signatures to
// each of the two signed headers, about 0.6 KiB more.
const anchorBytes = 2948 + 600

// TestNationalScale simulates the trust bundle of a national deployment
// (issue 15, acceptance 4): 20 million citizens × 3 copies = 60 million
// status entries with 2 % revoked, over 100 issuers, each with one 2-bit
// list of 2^20 entries (herd privacy; 600,000 used, at random indices),
// signed as real Status List Tokens; each issuer's DID document and
// accreditation with an anchor of anchorBytes. It reports the signed
// bundle's size and one day's update (the lists that changed, for a day
// of 2 %/365 of the entries revoked), and whether the full bundle stays
// under 20 MB.
//
//	SSI_BUNDLE_SCALE=1 go test -run TestNationalScale -v ./internal/bundle
func TestNationalScale(t *testing.T) {
	if os.Getenv("SSI_BUNDLE_SCALE") == "" {
		t.Skip("set SSI_BUNDLE_SCALE=1 to run the national-scale simulation")
	}
	const (
		issuers   = 100
		perIssuer = 600_000
		listSize  = 1 << 20
		revoked   = 0.02
	)
	s, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Unix(1_800_000_000, 0)
	pad := strings.Repeat("x", anchorBytes-len(`{"status":"anchored"}`))
	doc := []byte(`{"@context":["https://www.w3.org/ns/did/v1"],"id":"did:psr:` + strings.Repeat("A", 44) + `","verificationMethod":[{"id":"#issuing-1","type":"JsonWebKey","controller":"did:psr:x","publicKeyJwk":{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("x", 43) + `","y":"` + strings.Repeat("y", 43) + `"}}],"assertionMethod":["#issuing-1"],"capabilityInvocation":["#controller-1"]}`)
	accreditation := []byte(`{"id":"` + strings.Repeat("a", 26) + `","version":1,"issuer":"did:psr:` + strings.Repeat("A", 44) + `","vct":["urn:ssi:vct:vaccination-pass:1"],"valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z","status":"active","operator":"registry","effective_at":"2026-01-01T00:00:00Z"}`)

	lists := make([]*statuslist.List, issuers)
	used := make([][]int, issuers)
	tokens := 0
	var full, day int
	for i := range issuers {
		l, err := statuslist.New(2, listSize)
		require.NoError(t, err)
		idx := rng.Perm(listSize)[:perIssuer]
		for _, k := range idx[:int(perIssuer*revoked)] {
			require.NoError(t, l.Set(k, 1))
		}
		lists[i], used[i] = l, idx
		tok, err := statuslist.Sign(s, "did:psr:x#issuing-1", statuslist.Token{Subject: fmt.Sprintf("https://issuer-%03d.example/status/1", i),
			IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour), TTL: time.Hour, List: l})
		require.NoError(t, err)
		tokens += len(tok)
	}
	// The bundle's JSON: per issuer its document and accreditation (bytes,
	// base64 in JSON) and its list, each with an anchor.
	per := func(b []byte) int { return (len(b)+2)/3*4 + len(pad) + 64 }
	full = issuers*(per(doc)+per(accreditation)+len(pad)+64) + tokens
	full = (full + 2) / 3 * 4 // the JWS payload is base64url
	b, _ := json.Marshal(&Bundle{Verifier: "did:key:z", IssuedAt: now, MaxAge: 86400, Policy: Policy{VCTs: []string{"urn:ssi:vct:vaccination-pass:1"}}})
	full += len(b) + 200 // header, signature

	// One day: 2 %/365 of the entries newly revoked, at random among the
	// used indices of random issuers; every list with a change is sent again.
	daily := issuers * perIssuer * 2 / 100 / 365
	changed := map[int]bool{}
	for range daily {
		i := rng.IntN(issuers)
		require.NoError(t, lists[i].Set(used[i][int(perIssuer*revoked)+rng.IntN(perIssuer-int(perIssuer*revoked))], 1))
		changed[i] = true
	}
	for i := range changed {
		tok, err := statuslist.Sign(s, "did:psr:x#issuing-1", statuslist.Token{Subject: fmt.Sprintf("https://issuer-%03d.example/status/1", i),
			IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour), TTL: time.Hour, List: lists[i]})
		require.NoError(t, err)
		day += len(tok) + len(pad) + 64
	}
	day = (day + 2) / 3 * 4
	t.Logf("national bundle: %d issuers, %d status entries (%.0f %% revoked) in %d lists of %d: status list tokens %.1f MB, signed bundle %.1f MB (limit 20 MB)",
		issuers, issuers*perIssuer, revoked*100, issuers, listSize, float64(tokens)/1e6, float64(full)/1e6)
	t.Logf("one day's update: %d new revocations touch %d of %d lists: %.1f MB (the changed lists, each with its anchor)",
		daily, len(changed), issuers, float64(day)/1e6)
	require.Less(t, full, 20_000_000, "a full bundle over 20 MB needs an incremental update")
}
