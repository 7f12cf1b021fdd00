package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxLastError bounds the stored failure reason.
const maxLastError = 2048

// EnqueueOutbox stores items as pending work, all or none, in one
// transaction (or in the caller's, inside InTx). An item whose topic and key
// are already stored with the same payload is skipped, so enqueueing is
// idempotent; the same topic and key with a different payload is
// ErrConflict and nothing from this call is stored (inside a caller's InTx:
// once the caller returns the error, as InTx requires). A zero CreatedAt is
// set from the clock; ID, Attempts, LastError, DoneAt and Result are
// ignored. Errors: ErrInvalid (empty topic or key), ErrConflict.
func (s *Store) EnqueueOutbox(ctx context.Context, items ...OutboxItem) error {
	for _, it := range items {
		if err := need("outbox topic", it.Topic, "outbox key", it.Key); err != nil {
			return err
		}
	}
	err := s.InTx(ctx, func(tx *Store) error {
		for _, it := range items {
			if it.CreatedAt.IsZero() {
				it.CreatedAt = s.now()
			}
			n, err := tx.w().exec(ctx,
				"INSERT INTO outbox (topic, okey, payload, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (topic, okey) DO NOTHING",
				it.Topic, it.Key, nullBytes(it.Payload), toMicros(it.CreatedAt))
			if err != nil {
				return err
			}
			if n == 1 {
				continue
			}
			var payload []byte
			if err := tx.w().queryRow(ctx, "SELECT payload FROM outbox WHERE topic = $1 AND okey = $2",
				it.Topic, it.Key).Scan(&payload); err != nil {
				return err
			}
			if !bytes.Equal(payload, it.Payload) {
				return ErrConflict.With("the outbox key is already used with another payload", nil)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueueing outbox items: %w", err)
	}
	return nil
}

const outboxColumns = "id, topic, okey, payload, created_at, attempts, last_error, done_at, result"

func scanOutbox(r row) (OutboxItem, error) {
	var it OutboxItem
	var created, done, attempts int64
	if err := r.Scan(&it.ID, &it.Topic, &it.Key, &it.Payload, &created, &attempts, &it.LastError, &done, &it.Result); err != nil {
		return OutboxItem{}, err
	}
	it.Payload, it.Result = bytesOrNil(it.Payload), bytesOrNil(it.Result)
	it.CreatedAt, it.DoneAt, it.Attempts = fromMicros(created), fromMicros(done), int(attempts)
	return it, nil
}

// PendingOutbox returns up to limit (0: 100; capped at 1000) items of topic
// that are neither done nor parked, in ascending ID order: the processing order.
//
// On PostgreSQL, IDs are assigned when a transaction inserts, not when it
// commits, so an item of a slower concurrent transaction can appear after
// items with higher IDs were already returned. Consumers that need a strict
// order within a subject must carry it in the payload (e.g. a version).
func (s *Store) PendingOutbox(ctx context.Context, topic string, limit int) ([]OutboxItem, error) {
	var out []OutboxItem
	err := forEach(ctx, s.r(),
		"SELECT "+outboxColumns+" FROM outbox WHERE topic = $1 AND done_at = 0 AND parked_at = 0 ORDER BY id LIMIT $2",
		[]any{topic, clampLimit(limit)}, func(r rows) error {
			it, err := scanOutbox(r)
			out = append(out, it)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing pending outbox items: %w", err)
	}
	return out, nil
}

// GetOutbox returns the item of topic with this key, pending or done, or
// ErrNotFound.
func (s *Store) GetOutbox(ctx context.Context, topic, key string) (OutboxItem, error) {
	it, err := scanOutbox(s.r().queryRow(ctx,
		"SELECT "+outboxColumns+" FROM outbox WHERE topic = $1 AND okey = $2", topic, key))
	if err != nil {
		return OutboxItem{}, fmt.Errorf("getting outbox item: %w", err)
	}
	return it, nil
}

// CompleteOutbox marks a pending item done (DoneAt from the clock) and
// stores its result. Errors: ErrNotFound (no such item in topic),
// ErrConflict (already done: work is completed exactly once).
func (s *Store) CompleteOutbox(ctx context.Context, topic string, id int64, result []byte) error {
	n, err := s.w().exec(ctx,
		"UPDATE outbox SET done_at = $3, result = $4 WHERE topic = $1 AND id = $2 AND done_at = 0",
		topic, id, toMicros(s.now()), nullBytes(result))
	if err == nil && n == 0 {
		err = notFoundOr(ctx, s.w(), ErrConflict.With("the outbox item is already done", nil),
			"SELECT 1 FROM outbox WHERE topic = $1 AND id = $2", topic, id)
	}
	if err != nil {
		return fmt.Errorf("completing outbox item: %w", err)
	}
	return nil
}

// FailOutbox records a failed attempt on a pending item: Attempts+1 and
// LastError = reason (cut to 2 KiB). The item stays pending. reason must
// not contain secrets or personal data. Errors: ErrNotFound, ErrConflict
// (already done).
func (s *Store) FailOutbox(ctx context.Context, topic string, id int64, reason string) error {
	n, err := s.w().exec(ctx,
		"UPDATE outbox SET attempts = attempts + 1, last_error = $3 WHERE topic = $1 AND id = $2 AND done_at = 0",
		topic, id, truncateUTF8(reason, maxLastError))
	if err == nil && n == 0 {
		err = notFoundOr(ctx, s.w(), ErrConflict.With("the outbox item is already done", nil),
			"SELECT 1 FROM outbox WHERE topic = $1 AND id = $2", topic, id)
	}
	if err != nil {
		return fmt.Errorf("recording outbox failure: %w", err)
	}
	return nil
}

// ParkOutbox takes a pending item out of the queue for good, recording
// why: PendingOutbox no longer returns it, so it cannot hold up the items
// behind it, while OutboxDepth still counts it and GetOutbox shows it with
// its reason, for an operator. Errors: ErrNotFound, ErrConflict (done).
func (s *Store) ParkOutbox(ctx context.Context, topic string, id int64, reason string) error {
	n, err := s.w().exec(ctx,
		"UPDATE outbox SET attempts = attempts + 1, last_error = $3, parked_at = $4 WHERE topic = $1 AND id = $2 AND done_at = 0",
		topic, id, truncateUTF8(reason, maxLastError), toMicros(s.now()))
	if err == nil && n == 0 {
		err = notFoundOr(ctx, s.w(), ErrConflict.With("the outbox item is already done", nil),
			"SELECT 1 FROM outbox WHERE topic = $1 AND id = $2", topic, id)
	}
	if err != nil {
		return fmt.Errorf("parking outbox item: %w", err)
	}
	return nil
}

// OutboxDepth returns how many items of topic are pending, parked ones
// included.
func (s *Store) OutboxDepth(ctx context.Context, topic string) (int64, error) {
	var n int64
	if err := s.r().queryRow(ctx, "SELECT COUNT(*) FROM outbox WHERE topic = $1 AND done_at = 0", topic).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting pending outbox items: %w", err)
	}
	return n, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune, after
// replacing invalid UTF-8 and dropping NUL (text columns refuse them).
func truncateUTF8(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
