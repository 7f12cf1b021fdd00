// Package dcql is the Digital Credentials Query Language of OpenID4VP 1.0
// (§6, the claims path pointers of §7, and the dc+sd-jwt parameters of
// Appendix B.3): parsing and validating a query from untrusted JSON,
// processing claims paths over a credential's claims, and matching
// credentials against a query, for both sides of a presentation:
//
//   - the verifier (Query.Match) checks that the presentations of a VP
//     Token satisfy its own query, presentation by presentation and as a
//     whole (credential_sets, multiple), because it must never trust the
//     wallet's filtering (§14.11); it shows only Result.Matches;
//   - the holder (Query.Candidates) finds which stored credentials can
//     answer a request, which claims each would disclose (the minimal set:
//     the first satisfiable claim set) as JSON Pointers for sdjwt.Present,
//     and what is optional, to build the citizen's consent;
//   - both (Query.CheckAllowed, Query.Exceeds, Covers) compare a query
//     with a relying-party registration's claim names per vct: the verifier
//     refuses a policy that over-asks at start-up, the holder refuses and
//     shows an over-asking request.
//
// Registration claim names are flat ("given_name",
// "vaccinated_within_policy"); a name covers the paths whose member names
// begin with the name's dot-separated parts, array components passed over
// (see Covers). Path.Name renders a path in that vocabulary for display
// and for the sharing history.
//
// Decisions: only dc+sd-jwt credentials ever match (vc+sd-jwt is not a
// DCQL format of OpenID4VP 1.0 or HAIP; other formats parse but match
// nothing, and CheckFormats refuses them in a verifier's policy); vct is
// compared exactly (no type metadata, so no inheritance);
// trusted_authorities is validated and kept as a hint, never evaluated;
// a query that breaks a MUST is refused, including duplicate claims
// queries, which §6.1 lets a wallet ignore instead; integers are integer
// literals, so a claim number written 1.0 matches no value.
//
// Every refusal is an *errs.Error with a stable code (errors.go), and its
// detail locates the fault by position, never by quoting the input. Every
// input is bounded (the Max constants): a query of 10,000 claims or a
// nesting bomb is refused in microseconds.
//
// It must never: do I/O of any kind (no HTTP, no store, no file), read a
// clock or the environment, log, keep state between calls, panic on any
// input (FuzzParseQuery), or put a claim value of a credential into an
// error.
package dcql
