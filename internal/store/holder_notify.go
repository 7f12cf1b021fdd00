package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// holderSessionsChannel is the PostgreSQL notification channel on which
// DeleteHolderSessions names the accounts whose sessions it ended.
// Channels span the database, not a schema: a listener may hear another
// schema's accounts, which only costs it a cache entry.
const holderSessionsChannel = "ssi_holder_sessions"

// WatchHolderSessions calls drop with the account of each
// DeleteHolderSessions on this database, by any process, from the moment
// it calls ready until it returns: when ctx ends (ctx's error) or its
// connection fails (ErrUnavailable: notifications may have been missed
// since). On PostgreSQL it listens on a connection of its own, outside
// the pool. On SQLite it returns nil at once, without calling ready:
// there is nothing to listen to.
func (s *Store) WatchHolderSessions(ctx context.Context, ready func(), drop func(accountID string)) error {
	pb, ok := s.b.(*pgBackend)
	if !ok {
		return nil
	}
	c, err := pgx.ConnectConfig(ctx, pb.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connecting to listen: %w", pgErr(err))
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "LISTEN "+holderSessionsChannel); err != nil {
		return fmt.Errorf("listening for ended sessions: %w", pgErr(err))
	}
	ready()
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("waiting for ended sessions: %w", pgErr(err))
		}
		drop(n.Payload)
	}
}
