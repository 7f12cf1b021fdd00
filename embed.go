// Package ssi holds the files at the root of the repository that the binary
// embeds: the OpenAPI description of every route.
package ssi

import _ "embed"

// OpenAPI is openapi.yaml, served at /openapi.yaml and held to the router by
// a test.
//
//go:embed openapi.yaml
var OpenAPI []byte
