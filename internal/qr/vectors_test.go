package qr

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

var update = flag.Bool("update", false, "rewrite the golden vectors and the vector sections of docs/offline-qr.md")

const (
	vectorsGolden = "testdata/vectors.golden"
	specPath      = "../../docs/offline-qr.md"
)

// vectorFile is the golden file: the test vectors of docs/offline-qr.md.
type vectorFile struct {
	Dictionary struct {
		Length int      `json:"length"`
		SHA256 string   `json:"sha256"`
		Lines  []string `json:"lines"`
	} `json:"dictionary"`
	Vectors  []vector  `json:"vectors"`
	Refusals []refusal `json:"refusals"`
}

type vector struct {
	Name     string `json:"name"`
	Compact  string `json:"compact"`
	Framed   string `json:"framed_hex"`
	Envelope string `json:"envelope"`
	Version  int    `json:"qr_version_l"`
}

type refusal struct {
	Name string `json:"name"`
	Text string `json:"text"`
	Code string `json:"code"`
}

// pattern is n bytes counting up from start: a recognisable stand-in for
// a signature in the vectors (the envelope never looks inside one).
func pattern(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// vectorInputs are the fixed inputs of the vectors: well-formed SD-JWT
// VCs with correct digests and sd_hash, whose signatures are byte
// patterns, not signatures.
func vectorInputs() []vector {
	const iss = "did:psr:4Ge4mkVbhqL8zKvtVFYGkYoNFhGNPzqEsaeaHgkmbZAe"
	enc := func(s string) string { return b64.EncodeToString([]byte(s)) }
	hdr := enc(`{"alg":"ES256","kid":"` + iss + `#issuing-1","typ":"dc+sd-jwt"}`)
	sig := b64.EncodeToString(pattern(0, 64))

	v1 := hdr + "." + enc(`{"iss":"`+iss+`","vct":"urn:ssi:vct:vaccination-pass:1","iat":1797408000,"exp":1828944000}`) + "." + sig + "~"

	d := enc(`["2GLC42sKQveCfGfryNRN9w","vaccinated_within_policy",true]`)
	sd := hdr + "." + enc(`{"_sd":["`+digestOf(d)+`"],"iss":"`+iss+`","vct":"urn:ssi:vct:vaccination-pass:1","iat":1797408000,"exp":1828944000,"_sd_alg":"sha-256"}`) + "." + sig + "~" + d + "~"
	kb := enc(`{"alg":"ES256","typ":"kb+jwt"}`) + "." +
		enc(`{"nonce":"8J2x1kVnQxWbM0dC3yLr0A","aud":"offline:did:psr:GVMbSkMVztfpqB2k6GJGozcrpYGW5LP3i8P22uXxP3PP","iat":1800000000,"sd_hash":"`+digestOf(sd)+`"}`) +
		"." + b64.EncodeToString(pattern(64, 64))
	return []vector{
		{Name: "an SD-JWT with no disclosure and no KB-JWT", Compact: v1},
		{Name: "an SD-JWT+KB with one disclosure", Compact: sd + kb},
	}
}

// refusalInputs are texts every decoder must refuse, with the code.
func refusalInputs(t *testing.T, good string) []refusal {
	t.Helper()
	body := good[len(Prefix):]
	deflated, err := base45Decode(body)
	require.NoError(t, err)
	aligned := Prefix + base45Encode(deflated[:len(deflated)&^1])
	return []refusal{
		{"an EU DCC", "HC1:NCFOXN%TS3DH", "qr_unknown_prefix"},
		{"another envelope version", "SSI2:" + body, "qr_unsupported_version"},
		{"a lower-case prefix", "ssi1:" + body, "qr_unknown_prefix"},
		{"a trailing line feed", good + "\n", "qr_invalid_base45"},
		{"a dangling character", aligned + "0", "qr_invalid_base45"},
		{"a triplet over 65535", Prefix + "GGW", "qr_base45_overflow"},
		{"a pair over 255", Prefix + "V5", "qr_base45_overflow"},
		{"a truncated DEFLATE stream", Prefix + base45Encode(deflated[:len(deflated)/2]), "qr_invalid_deflate"},
		{"a byte after the DEFLATE stream", Prefix + base45Encode(append(bytes.Clone(deflated), 0)), "qr_invalid_deflate"},
		{"a frame with a reserved flag", envelopeOf([]byte{0x02, 0x00, 0x01, 'h', 0x01, 'p', 0x01, 's'}), "qr_malformed_envelope"},
		{"a length not in shortest form", envelopeOf([]byte{0x00, 0x00, 0x81, 0x00, 'h', 0x01, 'p', 0x01, 's'}), "qr_malformed_envelope"},
		{"an empty part", envelopeOf([]byte{0x00, 0x00, 0x01, 'h', 0x00, 0x01, 's'}), "qr_malformed_envelope"},
		{"257 disclosures", envelopeOf([]byte{0x00, 0x81, 0x02}), "too_many_disclosures"},
		{"64 KiB of zeros (inflates past the cap)", envelopeOf(make([]byte, 64<<10)), "qr_envelope_too_large"},
	}
}

// generateVectors computes the golden file's content from the code.
func generateVectors(t *testing.T) vectorFile {
	t.Helper()
	var f vectorFile
	f.Dictionary.Lines = dictionaryLines
	f.Dictionary.Length = len(dictionary)
	sum := sha256.Sum256(dictionary)
	f.Dictionary.SHA256 = hex.EncodeToString(sum[:])
	for _, v := range vectorInputs() {
		framed, err := frame(v.Compact)
		require.NoError(t, err)
		v.Framed = hex.EncodeToString(framed)
		v.Envelope, err = EncodeEnvelope(v.Compact)
		require.NoError(t, err)
		v.Version, err = OfflineVersion(v.Envelope, L)
		require.NoError(t, err)
		f.Vectors = append(f.Vectors, v)
	}
	f.Refusals = refusalInputs(t, f.Vectors[1].Envelope)
	return f
}

// TestVectors holds the golden vectors to the code in both directions:
// every golden envelope decodes to its compact string and every golden
// frame unframes to it (whatever DEFLATE encoder made them), every golden
// refusal is refused with its code, and the encoder still produces the
// golden envelopes (compress/flate's output is stable within a Go
// release; after an upgrade that changes it, -update refreshes the
// vectors, and the old ones must still decode).
func TestVectors(t *testing.T) {
	got := generateVectors(t)
	js, err := json.MarshalIndent(got, "", "  ")
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(vectorsGolden, append(js, '\n'), 0o644))
	}
	b, err := os.ReadFile(vectorsGolden)
	require.NoError(t, err, "run with -update to create the golden file")
	var want vectorFile
	require.NoError(t, json.Unmarshal(b, &want))

	for _, v := range want.Vectors {
		out, err := DecodeEnvelope(v.Envelope)
		require.NoError(t, err, v.Name)
		assert.Equal(t, v.Compact, out, v.Name)
		framed, err := hex.DecodeString(v.Framed)
		require.NoError(t, err)
		out, err = unframe(framed)
		require.NoError(t, err, v.Name)
		assert.Equal(t, v.Compact, out, v.Name)
	}
	for _, r := range want.Refusals {
		_, err := DecodeEnvelope(r.Text)
		assert.Equal(t, r.Code, errs.CodeOf(err), r.Name)
	}
	assert.Equal(t, string(b), string(js)+"\n", "the encoder's output changed: rerun with -update")
}

// The generated sections of docs/offline-qr.md sit between these markers.
var specSections = []string{"dictionary", "vectors"}

func marker(name, end string) string {
	return "<!-- generated:" + name + end + " (go test ./internal/qr -run TestSpecMatchesTheCode -update) -->"
}

// TestSpecMatchesTheCode holds docs/offline-qr.md to the code: its
// dictionary and its test vectors are rendered from the golden file and
// must match (-update rewrites them in the document).
func TestSpecMatchesTheCode(t *testing.T) {
	b, err := os.ReadFile(vectorsGolden)
	require.NoError(t, err)
	var f vectorFile
	require.NoError(t, json.Unmarshal(b, &f))
	rendered := map[string]string{"dictionary": renderDictionary(f), "vectors": renderVectors(f)}

	doc, err := os.ReadFile(filepath.FromSlash(specPath))
	require.NoError(t, err)
	text := string(doc)
	for _, name := range specSections {
		begin, end := marker(name, ""), marker(name, ":end")
		i, j := strings.Index(text, begin), strings.Index(text, end)
		require.True(t, i >= 0 && j > i, "docs/offline-qr.md has no %q section", name)
		section := text[i+len(begin) : j]
		if *update {
			text = text[:i+len(begin)] + "\n" + rendered[name] + text[j:]
			continue
		}
		assert.Equal(t, "\n"+rendered[name], section, "the %s section of docs/offline-qr.md: rerun with -update", name)
	}
	if *update {
		require.NoError(t, os.WriteFile(filepath.FromSlash(specPath), []byte(text), 0o644))
	}
}

func renderDictionary(f vectorFile) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bytes, SHA-256 `%s`, the concatenation of these lines without their line breaks:\n\n```text\n", f.Dictionary.Length, f.Dictionary.SHA256)
	for _, l := range f.Dictionary.Lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("```\n")
	return b.String()
}

func renderVectors(f vectorFile) string {
	var b strings.Builder
	for i, v := range f.Vectors {
		framed, _ := hex.DecodeString(v.Framed)
		fmt.Fprintf(&b, "**Vector %d: %s.**\n\nCompact input (%d characters):\n\n```text\n%s\n```\n\n", i+1, v.Name, len(v.Compact), v.Compact)
		fmt.Fprintf(&b, "Frame (%d bytes, hex, 32 bytes a line):\n\n```text\n", len(framed))
		for k := 0; k < len(v.Framed); k += 64 {
			b.WriteString(v.Framed[k:min(k+64, len(v.Framed))] + "\n")
		}
		fmt.Fprintf(&b, "```\n\nEnvelope (%d characters, QR version %d at level L):\n\n```text\n%s\n```\n\n", len(v.Envelope), v.Version, v.Envelope)
	}
	b.WriteString("**Refusals.** Each text (Go-quoted; the long ones shortened here, in full in `internal/qr/testdata/vectors.golden`) must be refused with its code:\n\n| case | text | code |\n|---|---|---|\n")
	for _, r := range f.Refusals {
		q := fmt.Sprintf("%q", r.Text)
		if len(q) > 40 {
			q = q[:30] + "…" + q[len(q)-6:]
		}
		fmt.Fprintf(&b, "| %s | `%s` | `%s` |\n", r.Name, q, r.Code)
	}
	return b.String()
}
