// Package config loads typed configuration for the ssi commands from, in
// increasing precedence: defaults, an optional YAML file, SSI_* environment
// variables, and command-line flags.
//
// A field takes part through its struct tags: `yaml:"name"` for the file and
// `flag:"name"` for the flag; the environment variable is SSI_ followed by
// the flag name in upper case with '-' as '_' (flag "http-addr" ↔
// SSI_HTTP_ADDR). Secrets may be given as a path in a field whose flag ends
// in "-file"; Resolve reads it.
//
// It must never log or print the value of a secret.
package config
