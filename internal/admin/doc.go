// Package admin is the cross-cutting administration of ssi: tenants
// (agencies, registry operators, venue operators), their API keys with
// scopes, and their audit log.
//
// Every state change writes its audit record in the same transaction as the
// change. A tenant never sees another tenant's keys or audit records: they
// answer 404. API key secrets are shown once and never stored or logged.
package admin
