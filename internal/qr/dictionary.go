package qr

import "strings"

// dictionary is the preset DEFLATE dictionary of envelope version 1: the
// content of the sliding window before the first byte, as in zlib's FDICT
// (RFC 1950) but with no header naming it (zlib's deflateSetDictionary
// and inflateSetDictionary with negative windowBits, Java's
// Deflater.setDictionary, Go's flate.NewWriterDict do it). It is the
// constant text of an ssi presentation: JOSE headers, the SD-JWT VC and
// KB-JWT member names in the order internal/sdjwt writes them, the
// registry DID method, the credential types ssi issues and their claim
// names, and never a value of one credential (no name, DID, date, key or
// digest). Without it the reference presentation needs a version-24 QR
// code at level L; with it version 21 or 22 (BENCHMARKS.md): the first
// occurrence of each of these strings no longer costs its literal bytes.
//
// Deflate finds a match at a shorter distance near the end of the
// dictionary, so the text present in every presentation comes last. It is
// part of the format: changing one byte of it makes a new envelope
// version (and a new Prefix). docs/offline-qr.md carries it verbatim,
// held to these lines by TestVectors and TestSpecMatchesTheCode.
var dictionary = []byte(strings.Join(dictionaryLines, ""))

// dictionaryLines are the dictionary's text, split where the
// specification shows a line break (the dictionary has none).
var dictionaryLines = []string{
	// The W3C VCDM profile (the benefits card) and EdDSA keys: rarer.
	`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential","BenefitsEligibilityCredential"],`,
	`"id":"urn:uuid:","issuer":"did:psr:","validFrom":"","validUntil":"",`,
	`"credentialStatus":{"type":"TokenStatusList","status_list":{"idx":,"uri":"https://"}},"credentialSubject":{`,
	`"vct":"urn:ssi:vct:benefits-eligibility:1"`,
	`["","benefit","housing"]["","benefit","unemployment"]["","benefit","disability"]["","eligible_for_benefit",true]`,
	`{"alg":"EdDSA","kty":"OKP","crv":"Ed25519",`,
	// Disclosures of the vaccination pass, the likeliest last.
	`["","vaccinations",[{"date":"","place":"","vaccine":""}]]`,
	`["","age_over_65",false]["","age_over_18",true]["","birth_date","`,
	`["","family_name","["","given_name","["","vaccinated_within_policy",true]`,
	// The issuer-signed JWT of an SD-JWT VC.
	`{"alg":"ES256","kid":"did:psr:#issuing-1","typ":"dc+sd-jwt"}`,
	`{"_sd":["","","],"iss":"did:psr:","vct":"urn:ssi:vct:vaccination-pass:1","iat":1,"exp":1,`,
	`"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"","y":""}},`,
	`"status":{"status_list":{"idx":,"uri":"https:///status/"}},"_sd_alg":"sha-256"}`,
	// The KB-JWT, in every offline presentation.
	`{"alg":"ES256","typ":"kb+jwt"}{"nonce":"","aud":"offline:did:psr:","iat":1,"sd_hash":"`,
}
