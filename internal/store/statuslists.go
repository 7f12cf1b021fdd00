package store

import (
	"context"
	"fmt"
)

// ListStatusLists returns tenant's status lists, newest first, at most
// limit (clamped to 1 to 1000; 0 is 100). It reads only the lists' rows:
// whether a version is anchored is the ledger's to say.
func (s *Store) ListStatusLists(ctx context.Context, tenant string, limit int) ([]StatusList, error) {
	out := []StatusList{}
	err := forEach(ctx, s.r(),
		"SELECT "+statusListColumns+" FROM status_lists WHERE tenant_id = $1 ORDER BY created_at DESC, id LIMIT $2",
		[]any{tenant, clampLimit(limit)}, func(r rows) error {
			l, err := scanStatusList(r)
			out = append(out, l)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing status lists: %w", err)
	}
	return out, nil
}
