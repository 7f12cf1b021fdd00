package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// runMigrate applies the embedded migrations ("up", the default) or lists
// their state ("status").
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	action := "up"
	if len(args) > 0 && (args[0] == "up" || args[0] == "status") {
		action, args = args[0], args[1:]
	}
	cfg, checkOnly, err := loadServerConfig("migrate", args, stdout, stderr)
	if err != nil || checkOnly {
		return err
	}
	st, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if action == "up" {
		if err := st.Migrate(ctx); err != nil {
			return fmt.Errorf("migrating: %w", err)
		}
	}
	states, err := st.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("reading migration status: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "VERSION\tNAME\tAPPLIED\n")
	for _, m := range states {
		applied := "pending"
		if m.Applied {
			applied = m.AppliedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, applied)
	}
	return tw.Flush()
}
