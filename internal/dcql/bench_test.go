package dcql

import (
	"strings"
	"testing"
)

// BenchmarkVenue is what the verifier pays per presentation of the demo
// venue's pass when it parses the policy's query for each transaction and
// matches the verified presentation against it. The verifier's library
// budget (VerifyPresentation + status + this) is 1.2 × two ES256 verifies.
func BenchmarkVenue(b *testing.B) {
	query := []byte(venueQuery)
	resp := map[string][]Credential{"pass": {pass(b, passClaims)}}
	b.ReportAllocs()
	for b.Loop() {
		q, err := Parse(query)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := q.Match(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatchVenue is the match alone, against a query parsed once
// (the policy's, at start-up).
func BenchmarkMatchVenue(b *testing.B) {
	q := mustParse(b, venueQuery)
	resp := map[string][]Credential{"pass": {pass(b, passClaims)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Match(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseVenue is the parse alone.
func BenchmarkParseVenue(b *testing.B) {
	query := []byte(venueQuery)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(query); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCandidates is the holder's matching of the venue query against
// a wallet of five credentials.
func BenchmarkCandidates(b *testing.B) {
	q := mustParse(b, venueQuery)
	c := pass(b, passClaims)
	other := c
	other.VCT = vctPID
	wallet := []Credential{other, c, other, c, other}
	b.ReportAllocs()
	for b.Loop() {
		if !q.Candidates(wallet).Satisfiable {
			b.Fatal("unsatisfiable")
		}
	}
}

// BenchmarkParseHostile is the cost of refusing hostile queries: 10,000
// claims (over the size), the most claims that fit the size (over the
// claims limit) and a nesting bomb.
func BenchmarkParseHostile(b *testing.B) {
	claims := func(n int) []byte {
		return []byte(query(`,"claims":[` + strings.TrimSuffix(strings.Repeat(`{"path":["a"]},`, n), ",") + `]`))
	}
	fits := (MaxQuerySize - 200) / len(`{"path":["a"]},`)
	for name, in := range map[string][]byte{
		"10000_claims":           claims(10000),
		"max_size_claims":        claims(fits),
		"depth_bomb":             []byte(`{"credentials":` + strings.Repeat("[", 30000) + `}`),
		"depth_bomb_within_size": []byte(`{"credentials":` + strings.Repeat(`[`, MaxQuerySize-20) + `}`),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := Parse(in); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
