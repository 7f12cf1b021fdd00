package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/store"
)

// runAdmin bootstraps tenants and API keys from the command line:
//
//	ssi admin create-tenant --id health --name "Health Agency" --kind agency
//	ssi admin create-key --tenant health --scopes credentials:issue,credentials:revoke
//
// The key is printed once, to stdout, and never stored.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: ssi admin create-tenant|create-key [flags]")
	}
	sub, args := args[0], args[1:]
	cfg := config.DefaultServer()
	fs := flag.NewFlagSet("ssi admin "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var id, name, kind, tenant, scopes string
	switch sub {
	case "create-tenant":
		fs.StringVar(&id, "id", "", "tenant ID (lower-case slug)")
		fs.StringVar(&name, "name", "", "display name")
		fs.StringVar(&kind, "kind", "agency", "agency, registry-operator or venue-operator")
	case "create-key":
		fs.StringVar(&tenant, "tenant", "", "tenant ID")
		fs.StringVar(&scopes, "scopes", "", "comma-separated scopes: "+strings.Join(admin.KnownScopes, ", "))
	default:
		return fmt.Errorf("unknown admin command %q", sub)
	}
	if err := parseConfig(fs, &cfg, args, func() error { return errors.Join(cfg.Resolve(), cfg.Validate()) }); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := &admin.Service{Store: st, Now: clock}
	actor := admin.Actor{ID: "cli"}
	switch sub {
	case "create-tenant":
		t, err := svc.CreateTenant(ctx, actor, store.Tenant{ID: id, Name: name, Kind: kind})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "tenant %s created\n", t.ID)
	case "create-key":
		var list []string
		for _, s := range strings.Split(scopes, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		key, rec, err := svc.CreateKey(ctx, actor, tenant, list, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "API key %s for tenant %s with scopes %s; it is shown once:\n", rec.ID, rec.TenantID, strings.Join(rec.Scopes, ","))
		fmt.Fprintln(stdout, key)
	}
	return nil
}
