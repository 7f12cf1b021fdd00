package oid4vci

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// IssuerMetadata is the part of the Credential Issuer Metadata (§12.2.4)
// the wallet uses.
type IssuerMetadata struct {
	CredentialIssuer     string                   `json:"credential_issuer"`
	AuthorizationServers []string                 `json:"authorization_servers,omitempty"`
	CredentialEndpoint   string                   `json:"credential_endpoint"`
	NonceEndpoint        string                   `json:"nonce_endpoint,omitempty"`
	Batch                *BatchIssuance           `json:"batch_credential_issuance,omitempty"`
	Configurations       map[string]Configuration `json:"credential_configurations_supported"`
	Display              []Display                `json:"display,omitempty"`
}

// BatchIssuance is batch_credential_issuance.
type BatchIssuance struct {
	BatchSize int `json:"batch_size"`
}

// Configuration is one credential configuration.
type Configuration struct {
	Format string `json:"format"`
	VCT    string `json:"vct,omitempty"`
	Scope  string `json:"scope,omitempty"`
	// ProofTypes is proof_types_supported; the client sends jwt proofs.
	ProofTypes map[string]struct {
		Algs []string `json:"proof_signing_alg_values_supported"`
	} `json:"proof_types_supported,omitempty"`
	Metadata *struct {
		Display []Display `json:"display,omitempty"`
	} `json:"credential_metadata,omitempty"`
}

// Display is a localized display entry of an issuer or a configuration.
type Display struct {
	Name        string `json:"name,omitempty"`
	Locale      string `json:"locale,omitempty"`
	Description string `json:"description,omitempty"`
}

// ConfigDisplay returns the display entries of configuration id.
func (m *IssuerMetadata) ConfigDisplay(id string) []Display {
	c, ok := m.Configurations[id]
	if !ok || c.Metadata == nil {
		return nil
	}
	return c.Metadata.Display
}

// BatchSize is the most proofs one credential request may carry: the
// advertised batch_size, or 1.
func (m *IssuerMetadata) BatchSize() int {
	if m.Batch == nil {
		return 1
	}
	return m.Batch.BatchSize
}

// ASMetadata is the part of the OAuth 2.0 Authorization Server Metadata
// (RFC 8414) the wallet uses.
type ASMetadata struct {
	Issuer        string   `json:"issuer"`
	TokenEndpoint string   `json:"token_endpoint"`
	DPoPAlgs      []string `json:"dpop_signing_alg_values_supported,omitempty"`
}

// wellKnown inserts /.well-known/name between the host and the path of id
// (§12.2.2, RFC 8414 §3.1).
func wellKnown(id, name string) string {
	u, _ := url.Parse(id) // checked by checkIssuerID
	u.Path = "/.well-known/" + name + strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u.String()
}

// IssuerMetadata fetches and checks the metadata of issuer. Errors: the
// fetch errors; ErrIssuerRefused; ErrInvalidMetadata when the document
// names another issuer, lacks a credential endpoint or configurations, or
// names an endpoint URL the client must not use; ErrBatchTooLarge.
func (c *Client) IssuerMetadata(ctx context.Context, issuer string) (*IssuerMetadata, error) {
	if err := checkIssuerID(issuer); err != nil {
		return nil, ErrInvalidMetadata.With("the issuer identifier is invalid", err)
	}
	r, err := c.do(ctx, http.MethodGet, wellKnown(issuer, "openid-credential-issuer"), nil, "", nil)
	if err != nil {
		return nil, err
	}
	var m IssuerMetadata
	if err := r.decode("issuer metadata", &m); err != nil {
		return nil, ErrInvalidMetadata.With("", err)
	}
	switch {
	case m.CredentialIssuer != issuer:
		return nil, ErrInvalidMetadata.With("the metadata names another credential issuer", nil)
	case m.CredentialEndpoint == "":
		return nil, ErrInvalidMetadata.With("the metadata has no credential endpoint", nil)
	case len(m.Configurations) == 0:
		return nil, ErrInvalidMetadata.With("the metadata has no credential configurations", nil)
	case m.Batch != nil && m.Batch.BatchSize < 2:
		return nil, ErrInvalidMetadata.With("batch_size must be at least 2", nil)
	case m.Batch != nil && m.Batch.BatchSize > c.o.MaxBatch:
		return nil, ErrBatchTooLarge
	}
	for _, e := range []string{m.CredentialEndpoint, m.NonceEndpoint} {
		if e == "" {
			continue
		}
		if _, err := c.checkURL(e); err != nil {
			return nil, err
		}
	}
	for _, as := range m.AuthorizationServers {
		if err := checkIssuerID(as); err != nil {
			return nil, ErrInvalidMetadata.With("an authorization server identifier is invalid", err)
		}
	}
	return &m, nil
}

// ASMetadata fetches and checks the metadata of the authorization server
// as. Errors: as IssuerMetadata's, and ErrInvalidMetadata when the
// document names another issuer or has no token endpoint.
func (c *Client) ASMetadata(ctx context.Context, as string) (*ASMetadata, error) {
	if err := checkIssuerID(as); err != nil {
		return nil, ErrInvalidMetadata.With("the authorization server identifier is invalid", err)
	}
	r, err := c.do(ctx, http.MethodGet, wellKnown(as, "oauth-authorization-server"), nil, "", nil)
	if err != nil {
		return nil, err
	}
	var m ASMetadata
	if err := r.decode("authorization server metadata", &m); err != nil {
		return nil, ErrInvalidMetadata.With("", err)
	}
	if m.Issuer != as {
		return nil, ErrInvalidMetadata.With("the authorization server metadata names another issuer", nil)
	}
	if m.TokenEndpoint == "" {
		return nil, ErrInvalidMetadata.With("the authorization server has no token endpoint", nil)
	}
	if _, err := c.checkURL(m.TokenEndpoint); err != nil {
		return nil, err
	}
	return &m, nil
}

// authServer picks the authorization server of offer o under metadata m:
// the grant's authorization_server (which must be listed), the only one
// listed, or the issuer itself.
func authServer(o *Offer, m *IssuerMetadata) (string, error) {
	switch {
	case o.AuthorizationServer != "":
		if !slices.Contains(m.AuthorizationServers, o.AuthorizationServer) {
			return "", ErrInvalidOffer.With("the grant's authorization_server is not one of the issuer's", nil)
		}
		return o.AuthorizationServer, nil
	case len(m.AuthorizationServers) == 0:
		return m.CredentialIssuer, nil
	case len(m.AuthorizationServers) == 1:
		return m.AuthorizationServers[0], nil
	}
	return "", ErrInvalidOffer.With("the issuer has several authorization servers and the offer names none", nil)
}
