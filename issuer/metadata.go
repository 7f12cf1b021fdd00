package issuer

import (
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// Metadata is the Credential Issuer Metadata of tenant (OpenID4VCI §12.2),
// served at /.well-known/openid-credential-issuer/issuers/{tenant}.
func (s *Service) Metadata(tenantID string) (map[string]any, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	base := s.IssuerURL(t.ID)
	configs := map[string]any{}
	for _, c := range t.Configs {
		display := make([]map[string]any, 0, len(c.Display))
		for _, d := range c.Display {
			m := map[string]any{"name": d.Name}
			if d.Locale != "" {
				m["locale"] = d.Locale
			}
			if d.Description != "" {
				m["description"] = d.Description
			}
			display = append(display, m)
		}
		cm := map[string]any{
			"format": "dc+sd-jwt",
			"vct":    c.VCT,
			"scope":  c.ID,
			"cryptographic_binding_methods_supported": []string{"jwk"},
			"credential_signing_alg_values_supported": []string{t.Signer.Algorithm()},
			"proof_types_supported": map[string]any{
				"jwt": map[string]any{"proof_signing_alg_values_supported": []string{keys.ES256, keys.EdDSA}},
			},
		}
		if len(display) > 0 { // a non-empty array, or absent (§12.2.4)
			cm["credential_metadata"] = map[string]any{"display": display}
		}
		if c.Profile == sdjwt.ProfileVCDM {
			// A W3C VCDM 2.0 credential secured as SD-JWT (VC-JOSE-COSE):
			// OpenID4VCI 1.0 defines no format identifier for it, so this
			// uses its media type's suffix and the VCDM credential_definition.
			delete(cm, "vct")
			cm["format"] = "vc+sd-jwt"
			cm["credential_definition"] = map[string]any{
				"@context": []string{sdjwt.VCDMContext},
				"type":     append([]string{"VerifiableCredential"}, c.Types...),
			}
		}
		configs[c.ID] = cm
	}
	md := map[string]any{
		"credential_issuer":                   base,
		"authorization_servers":               []string{base},
		"credential_endpoint":                 base + "/credential",
		"nonce_endpoint":                      base + "/nonce",
		"credential_configurations_supported": configs,
	}
	if t.batch > 1 {
		md["batch_credential_issuance"] = map[string]any{"batch_size": t.batch}
	}
	return md, nil
}

// AuthServerMetadata is the OAuth 2.0 Authorization Server Metadata
// (RFC 8414) of tenant's issuer: the pre-authorized code grant only, with
// DPoP (RFC 9449).
func (s *Service) AuthServerMetadata(tenantID string) (map[string]any, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	base := s.IssuerURL(t.ID)
	return map[string]any{
		"issuer":                base,
		"token_endpoint":        base + "/token",
		"grant_types_supported": []string{PreAuthGrant},
		// response_types_supported is left out: with the pre-authorized
		// code grant only there is no authorization endpoint (§12.2.4).
		"pre-authorized_grant_anonymous_access_supported": true,
		// RFC 9449 §5.1: DPoP proofs are accepted at the token endpoint
		// (and required with Config.RequireDPoP).
		"dpop_signing_alg_values_supported": DPoPAlgs,
	}, nil
}
