// Command ssi is the one binary of the ssi service. Each subcommand is wired
// here in plain Go: no init() registration and no DI framework.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand. Add a line here when a service lands; do
// not add empty commands.
func commands() map[string]command {
	return map[string]command{
		"version":  {"print the version", runVersion},
		"dev":      {"run everything in one process on embedded defaults", runDev},
		"migrate":  {"apply (up) or list (status) the store migrations", runMigrate},
		"admin":    {"bootstrap tenants and API keys", runAdmin},
		"ledger":   {"initialise (init) or run (node) a validator of the permissioned ledger", runLedger},
		"registry": {"run the DID registry and trust registries alone", runRegistry},
		"issuer":   {"run the OpenID4VCI issuer alone", runIssuer},
		"verifier": {"run the OpenID4VP verifier of the venues alone", runVerifier},
		"holder":   {"run the citizen wallet backend alone", runHolder},
		"pass":     {"verify an EU DCC (HC1:) or SMART Health Card (shc:/) QR text offline", runPassStdin},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ssi: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if code, ok := asExitCode(err); ok { // the command chose its exit status
			return code
		}
		fmt.Fprintf(stderr, "ssi %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: ssi <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	_, err := fmt.Fprintln(stdout, "ssi", version)
	return err
}
