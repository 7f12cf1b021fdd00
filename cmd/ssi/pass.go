package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/passcheck"
)

// exitCode is an error that makes run return its value without printing
// anything more (the command has already written its output).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Exit codes of ssi pass verify.
const (
	passGreen      exitCode = 0
	passRed        exitCode = 1
	passUnreadable exitCode = 2
	passBadConfig  exitCode = 3
)

// maxPassInput caps what is read from standard input: any QR text is far
// shorter.
const maxPassInput = 64 << 10

// runPassStdin is runPass on the process's standard input.
func runPassStdin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runPass(ctx, args, os.Stdin, stdout, stderr)
}

// runPass is `ssi pass verify`: it reads one QR text (HC1: or shc:/) from
// stdin (or --in), checks it with internal/passcheck against the trust
// files given, at --at (default: now), and prints the verdict document as
// JSON. It exits 0 for green, 1 for red, 2 for unreadable input (the text
// does not decode: passcheck.Verdict.Unreadable) and 3 when it cannot run
// (flags, trust or policy files). Without --policy only genuineness and
// validity are checked, no venue rule. It never fetches anything.
func runPass(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: ssi pass verify [--at RFC3339] [--dcc-trust FILE]… [--shc-directory FILE] [--shc-jwks ISS=FILE]… [--shc-crl ISS=FILE]… [--policy FILE] < qr.txt")
		return passBadConfig
	}
	fs := flag.NewFlagSet("pass verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dccTrust, shcJWKS, shcCRL multiFlag
	atText := fs.String("at", "", "verify at this RFC 3339 time (default: now)")
	fs.Var(&dccTrust, "dcc-trust", "EU DCC signing certificates: PEM, DER or the JSON certificate list (repeatable)")
	shcDir := fs.String("shc-directory", "", "SMART Health Card issuers: a VCI directory snapshot")
	fs.Var(&shcJWKS, "shc-jwks", "ISS=FILE: the JWKS of one SMART Health Card issuer (repeatable)")
	fs.Var(&shcCRL, "shc-crl", "ISS=FILE: a crl/<kid>.json of one SMART Health Card issuer (repeatable)")
	policyFile := fs.String("policy", "", "a vaccination policy file (default: no venue rule)")
	in := fs.String("in", "-", "read the QR text from this file instead of standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return passBadConfig
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "ssi pass verify: unexpected arguments")
		return passBadConfig
	}
	cfg, err := loadPassConfig(*atText, dccTrust, *shcDir, shcJWKS, shcCRL, *policyFile)
	if err != nil {
		fmt.Fprintf(stderr, "ssi pass verify: %v\n", err)
		return passBadConfig
	}
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			fmt.Fprintf(stderr, "ssi pass verify: %v\n", err)
			return passBadConfig
		}
		defer f.Close()
		stdin = f
	}
	raw, err := io.ReadAll(io.LimitReader(stdin, maxPassInput+1))
	if err != nil {
		fmt.Fprintf(stderr, "ssi pass verify: reading the QR text: %v\n", err)
		return passBadConfig
	}
	// One trailing line break (echo, a scanner's Enter) is not part of
	// the QR text.
	text := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	var v passcheck.Verdict
	if len(raw) > maxPassInput {
		v = passcheck.Check("", cfg.trust, nil, cfg.at) // unknown format
	} else {
		v = passcheck.Check(text, cfg.trust, cfg.policy, cfg.at)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", out); err != nil {
		return err
	}
	switch {
	case v.Verdict == passcheck.Green:
		return passGreen
	case v.Unreadable():
		return passUnreadable
	}
	return passRed
}

type passConfig struct {
	at     time.Time
	trust  passcheck.TrustSet
	policy *passcheck.Policy
}

func loadPassConfig(atText string, dccFiles []string, shcDir string, jwks, crls []string, policyFile string) (*passConfig, error) {
	cfg := &passConfig{at: time.Now()}
	if atText != "" {
		t, err := time.Parse(time.RFC3339, atText)
		if err != nil {
			return nil, fmt.Errorf("--at is not an RFC 3339 time")
		}
		cfg.at = t
	}
	var err error
	if cfg.trust, err = (passTrustFile{DCC: dccFiles, SHCDirectories: shcDirs(shcDir), SHCJWKS: jwks, SHCCRLs: crls}).load(); err != nil {
		return nil, err
	}
	if policyFile != "" {
		b, err := os.ReadFile(policyFile)
		if err != nil {
			return nil, err
		}
		if cfg.policy, err = passcheck.ParsePolicy(b); err != nil {
			return nil, fmt.Errorf("--policy %s: %w", policyFile, err)
		}
	}
	return cfg, nil
}

// shcDirs is the --shc-directory flag as a list.
func shcDirs(name string) []string {
	if name == "" {
		return nil
	}
	return []string{name}
}

// passTrustFile names the trust files for other systems' passes (EU DCCs,
// SMART Health Cards; docs/passes.md), as the flags of `ssi pass verify`
// do, for a venue of `ssi verifier` too: ISS=FILE for one SHC issuer's
// JWKS or CRL.
type passTrustFile struct {
	DCC            []string `json:"dcc_trust,omitempty"`
	SHCDirectories []string `json:"shc_directories,omitempty"`
	SHCJWKS        []string `json:"shc_jwks,omitempty"`
	SHCCRLs        []string `json:"shc_crls,omitempty"`
}

// load reads the files and parses them (passcheck.TrustSources.Load).
func (f passTrustFile) load() (passcheck.TrustSet, error) {
	var src passcheck.TrustSources
	for _, list := range [...]struct {
		names []string
		dst   *[][]byte
	}{{f.DCC, &src.DCC}, {f.SHCDirectories, &src.SHCDirectories}} {
		for _, name := range list.names {
			b, err := os.ReadFile(name)
			if err != nil {
				return passcheck.TrustSet{}, err
			}
			*list.dst = append(*list.dst, b)
		}
	}
	for _, spec := range [...]struct {
		what string
		list []string
		dst  *[]passcheck.IssuerFile
	}{
		{"shc-jwks", f.SHCJWKS, &src.SHCJWKS},
		{"shc-crl", f.SHCCRLs, &src.SHCCRLs},
	} {
		for _, kv := range spec.list {
			iss, name, ok := strings.Cut(kv, "=")
			if !ok || iss == "" || name == "" {
				return passcheck.TrustSet{}, fmt.Errorf("%s wants ISS=FILE", spec.what)
			}
			b, err := os.ReadFile(name)
			if err != nil {
				return passcheck.TrustSet{}, err
			}
			*spec.dst = append(*spec.dst, passcheck.IssuerFile{ISS: iss, Data: b})
		}
	}
	return src.Load()
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// asExitCode reports the exit code an error of a command asks for.
func asExitCode(err error) (int, bool) {
	var e exitCode
	if errors.As(err, &e) {
		return int(e), true
	}
	return 0, false
}
