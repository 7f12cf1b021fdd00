package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/keys"
)

// runLedger handles `ssi ledger init` and `ssi ledger node`.
func runLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: ssi ledger init --validators N --home DIR | ssi ledger node --home DIR")
		return errors.New("missing subcommand")
	}
	switch args[0] {
	case "init":
		return ledgerInit(args[1:], stdout, stderr)
	case "node":
		return ledgerNode(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown ledger subcommand %q", args[0])
}

func ledgerInit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("validators", 1, "number of validator homes to write")
	home := fs.String("home", "", "directory for the validator homes (node0, node1, …)")
	chainID := fs.String("chain-id", "ssi-ledger", "chain ID")
	basePort := fs.Int("base-port", 26656, "node i listens on 127.0.0.1:base+2i (p2p) and base+2i+1 (RPC); 0 picks free ports")
	keyFile := fs.String("operator-key", "", "the operator's writer key, sealed under the KEK (default: generate <home>/operator.key)")
	kekFile := fs.String("kek-file", "", "file holding the key-encryption key that seals the operator key (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *home == "" {
		return errors.New("--home is required")
	}
	if *kekFile == "" {
		return errors.New("--kek-file is required: the operator key is kept sealed")
	}
	kekText, err := config.ReadSecret(*kekFile)
	if err != nil {
		return err
	}
	kek, err := keys.ParseKEK(kekText)
	if err != nil {
		return fmt.Errorf("loading the key-encryption key: %w", err)
	}
	create := *keyFile == ""
	if create {
		*keyFile = filepath.Join(*home, "operator.key")
	}
	signer, err := writerKey(*keyFile, kek, create)
	if err != nil {
		return err
	}
	homes, err := anchor.Init(*home, *n, anchor.InitOptions{ChainID: *chainID, BasePort: *basePort, RPC: true,
		Operators: []anchor.WriterKey{signer.Key()}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chain %s: %d validator home(s)\n", *chainID, len(homes))
	for _, h := range homes {
		s, err := anchor.ReadSettings(h)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %s  p2p %s  rpc %s\n", h, s.P2PAddress, s.RPCAddress)
	}
	fmt.Fprintf(stdout, "operator writer ID %s (key in %s)\nstart each with: ssi ledger node --home DIR\n", signer.ID(), *keyFile)
	return nil
}

func ledgerNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	home := fs.String("home", "", "validator home written by `ssi ledger init`")
	quiet := fs.Bool("quiet", false, "do not print CometBFT's log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *home == "" {
		return errors.New("--home is required")
	}
	var logw io.Writer = stderr
	if *quiet {
		logw = nil
	}
	n, err := anchor.StartNode(ctx, *home, anchor.NodeOptions{Log: logw})
	if err != nil {
		return err
	}
	s, err := anchor.ReadSettings(*home)
	if err != nil {
		_ = n.Stop()
		return err
	}
	fmt.Fprintf(stdout, "validator %s of chain %s running (p2p %s, rpc %s)\n", s.Moniker, n.ChainID(), s.P2PAddress, s.RPCAddress)
	<-ctx.Done()
	return n.Stop()
}
