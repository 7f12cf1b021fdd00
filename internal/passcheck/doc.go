// Package passcheck gives one green/red answer for every pass a venue
// scans: our own SD-JWT passes (the SSI1: envelope, which the verifier
// checks and then hands here as disclosed claims, CheckSSIClaims), EU
// Digital COVID Certificates (HC1:, internal/dcc) and SMART Health Cards
// (shc:/, internal/shc), with one vaccination policy for all three.
//
// The verdict document is
//
//	{"verdict":"green|red","format":"ssi|eu-dcc|shc","reasons":[code…],
//	 "holder":{"name":…,"birth_date":…}}
//
// where reasons are the stable error codes of the refusals (and the
// policy_* codes of this package), and holder appears only when the pass
// is genuine (its signature, trust, time and revocation checks passed),
// with the name and birth date and nothing else from the pass.
//
// It must never: import net/http, the store or a service package (it
// builds for GOOS=js GOARCH=wasm and runs in the venue page offline);
// fetch keys or trust lists; read the clock (the caller passes the time);
// put more of a pass into the verdict than name and birth date.
package passcheck
