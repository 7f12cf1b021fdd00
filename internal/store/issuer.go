package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Credential states of the issuance record.
const (
	CredentialPending = "pending" // recorded, not yet signed and verified
	CredentialIssued  = "issued"  // signed, self-verified, handed out
)

// Credential offer states.
const (
	OfferOffered  = "offered"      // the pre-authorized code may be redeemed
	OfferRedeemed = "token_issued" // an access token was issued for it
	OfferIssued   = "issued"       // the credentials were issued
)

// MaxTxCodeAttempts is how many token requests an offer's code accepts,
// right or wrong: after that the code is dead.
const MaxTxCodeAttempts = 5

// StatusList is a Token Status List of a tenant.
type StatusList struct {
	ID           string
	TenantID     string
	URI          string // where it is served; the `sub` of its tokens
	Bits         int
	Size         int
	Allocated    int64 // indices handed out
	ChangeSeq    int64 // increases with each status change
	PublishedSeq int64 // the ChangeSeq the latest version covers (-1: none)
	Version      uint64
	CreatedAt    time.Time
}

// IssuedCredential is the issuance record of one credential. It never
// holds the SD-JWT or its disclosures.
type IssuedCredential struct {
	ID         string
	TenantID   string
	ConfigID   string
	SubjectRef string // the admin's reference for the subject
	ClaimsHash []byte // SHA-256 of the signed claims
	ListID     string
	Index      int64
	Status     int // the status-list value: 0 valid, 1 revoked, 2 suspended
	State      string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	IssuedAt   time.Time // zero while pending
}

// StatusListVersion is one published version of a status list.
type StatusListVersion struct {
	ListID    string
	Version   uint64
	Token     string // the exact served statuslist+jwt
	SHA256    string // hex SHA-256 of Token
	Seq       int64  // the list's ChangeSeq it covers
	CreatedAt time.Time
}

// StatusEntry is a non-zero entry of a status list.
type StatusEntry struct {
	Index  int64
	Status int
}

// CredentialOffer is a pre-authorized code offer.
type CredentialOffer struct {
	ID          string
	TenantID    string
	ConfigID    string
	SubjectRef  string
	SubjectData []byte // JSON, kept until issuance
	CodeHash    []byte // SHA-256 of the pre-authorized code
	TxCodeHash  []byte // SHA-256 of the tx_code; nil when none
	TokenHash   []byte // SHA-256 of the access token, once redeemed
	// TokenJKT is the RFC 7638 thumbprint of the DPoP key the access token
	// is bound to (RFC 9449); "" for a bearer token or before redemption.
	TokenJKT       string
	Attempts       int
	State          string
	Actor          string // the API key that created it
	CreatedAt      time.Time
	ExpiresAt      time.Time
	TokenExpiresAt time.Time
}

// CreateStatusList stores a new, empty list. Errors: ErrInvalid,
// ErrConflict (ID or URI taken), ErrNotFound (no such tenant).
func (s *Store) CreateStatusList(ctx context.Context, l StatusList) error {
	if err := need("status list ID", l.ID, "tenant ID", l.TenantID, "status list URI", l.URI); err != nil {
		return err
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = s.now()
	}
	_, err := s.w().exec(ctx,
		"INSERT INTO status_lists (id, tenant_id, uri, bits, size, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		l.ID, l.TenantID, l.URI, l.Bits, l.Size, toMicros(l.CreatedAt))
	if err != nil {
		return fmt.Errorf("creating status list: %w", err)
	}
	return nil
}

const statusListColumns = "id, tenant_id, uri, bits, size, allocated, change_seq, published_seq, version, created_at"

func scanStatusList(r row) (StatusList, error) {
	var l StatusList
	var bits, size, version, at int64
	if err := r.Scan(&l.ID, &l.TenantID, &l.URI, &bits, &size, &l.Allocated, &l.ChangeSeq, &l.PublishedSeq, &version, &at); err != nil {
		return StatusList{}, err
	}
	l.Bits, l.Size, l.Version, l.CreatedAt = int(bits), int(size), uint64(version), fromMicros(at)
	return l, nil
}

// GetStatusList returns the list with this ID. Errors: ErrNotFound.
func (s *Store) GetStatusList(ctx context.Context, id string) (StatusList, error) {
	l, err := scanStatusList(s.r().queryRow(ctx, "SELECT "+statusListColumns+" FROM status_lists WHERE id = $1", id))
	if err != nil {
		return StatusList{}, fmt.Errorf("getting status list: %w", err)
	}
	return l, nil
}

// OpenStatusList returns the newest list of tenant with these bits that
// still has room (at most half full, so random allocation stays cheap).
// Errors: ErrNotFound (none: the caller opens a new one).
func (s *Store) OpenStatusList(ctx context.Context, tenant string, bits int) (StatusList, error) {
	l, err := scanStatusList(s.r().queryRow(ctx,
		"SELECT "+statusListColumns+" FROM status_lists WHERE tenant_id = $1 AND bits = $2 AND allocated * 2 < size ORDER BY created_at DESC, id LIMIT 1",
		tenant, bits))
	if err != nil {
		return StatusList{}, fmt.Errorf("finding an open status list: %w", err)
	}
	return l, nil
}

// InsertCredential writes an issuance record. It does not touch the
// list's row (so concurrent issuances do not queue on one row lock):
// RecountStatusList refreshes the list's Allocated. A (list, index) pair
// that is taken is ErrConflict without failing the statement, so inside a
// transaction the caller can draw another index and try again (on
// PostgreSQL a concurrent uncommitted insert of the same pair is waited
// for first). Errors: ErrInvalid, ErrConflict (the pair or the ID is
// taken), ErrNotFound (no such list for the tenant).
func (s *Store) InsertCredential(ctx context.Context, c IssuedCredential) error {
	if err := need("credential ID", c.ID, "tenant ID", c.TenantID, "configuration", c.ConfigID,
		"subject reference", c.SubjectRef, "status list", c.ListID, "state", c.State); err != nil {
		return err
	}
	if len(c.ClaimsHash) == 0 || c.Index < 0 || c.ExpiresAt.IsZero() {
		return ErrInvalid.With("a credential record needs a claims hash, an index and an expiry", nil)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	// The SELECT yields no row for a list of another tenant; the
	// conflict clause yields none for a taken pair.
	var id string
	err := s.w().queryRow(ctx,
		`INSERT INTO credentials (id, tenant_id, config_id, subject_ref, claims_hash, status_list, status_idx, status, state, created_at, expires_at, issued_at)
		 SELECT $1, $2, $3, $4, $5, id, $7, $8, $9, $10, $11, $12 FROM status_lists WHERE id = $6 AND tenant_id = $2
		 ON CONFLICT (status_list, status_idx) DO NOTHING
		 RETURNING id`,
		c.ID, c.TenantID, c.ConfigID, c.SubjectRef, c.ClaimsHash, c.ListID, c.Index, c.Status, c.State,
		toMicros(c.CreatedAt), toMicros(c.ExpiresAt), toMicros(c.IssuedAt)).Scan(&id)
	if errors.Is(err, ErrNotFound) {
		err = notFoundOr(ctx, s.w(), ErrConflict.With("the status index is taken", nil),
			"SELECT 1 FROM status_lists WHERE id = $1 AND tenant_id = $2", c.ListID, c.TenantID)
	}
	if err != nil {
		return fmt.Errorf("inserting credential record: %w", err)
	}
	return nil
}

// RecountStatusList sets the list's Allocated to the number of records
// that use it, and returns it.
func (s *Store) RecountStatusList(ctx context.Context, id string) (int64, error) {
	var n int64
	err := s.w().queryRow(ctx,
		"UPDATE status_lists SET allocated = (SELECT COUNT(*) FROM credentials WHERE status_list = $1) WHERE id = $1 RETURNING allocated", id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("recounting status list: %w", err)
	}
	return n, nil
}

// MarkCredentialIssued moves a pending record to issued. Errors:
// ErrNotFound, ErrConflict (not pending).
func (s *Store) MarkCredentialIssued(ctx context.Context, tenant, id string, at time.Time) error {
	n, err := s.w().exec(ctx,
		"UPDATE credentials SET state = $3, issued_at = $4 WHERE tenant_id = $1 AND id = $2 AND state = $5",
		tenant, id, CredentialIssued, toMicros(at), CredentialPending)
	if err == nil && n == 0 {
		err = notFoundOr(ctx, s.w(), ErrConflict.With("the credential is not pending", nil),
			"SELECT 1 FROM credentials WHERE tenant_id = $1 AND id = $2", tenant, id)
	}
	if err != nil {
		return fmt.Errorf("marking credential issued: %w", err)
	}
	return nil
}

const credentialColumns = "id, tenant_id, config_id, subject_ref, claims_hash, status_list, status_idx, status, state, created_at, expires_at, issued_at"

func scanCredential(r row) (IssuedCredential, error) {
	var c IssuedCredential
	var status, created, exp, issued int64
	if err := r.Scan(&c.ID, &c.TenantID, &c.ConfigID, &c.SubjectRef, &c.ClaimsHash, &c.ListID, &c.Index, &status, &c.State, &created, &exp, &issued); err != nil {
		return IssuedCredential{}, err
	}
	c.Status = int(status)
	c.CreatedAt, c.ExpiresAt, c.IssuedAt = fromMicros(created), fromMicros(exp), fromMicros(issued)
	return c, nil
}

// GetCredential returns tenant's record id. Another tenant's record is
// ErrNotFound, like a missing one.
func (s *Store) GetCredential(ctx context.Context, tenant, id string) (IssuedCredential, error) {
	c, err := scanCredential(s.r().queryRow(ctx,
		"SELECT "+credentialColumns+" FROM credentials WHERE tenant_id = $1 AND id = $2", tenant, id))
	if err != nil {
		return IssuedCredential{}, fmt.Errorf("getting credential record: %w", err)
	}
	return c, nil
}

// ListCredentials returns tenant's records for subjectRef, oldest first, at
// most limit (0: 100; capped at 1000).
func (s *Store) ListCredentials(ctx context.Context, tenant, subjectRef string, limit int) ([]IssuedCredential, error) {
	var out []IssuedCredential
	err := forEach(ctx, s.r(),
		"SELECT "+credentialColumns+" FROM credentials WHERE tenant_id = $1 AND subject_ref = $2 ORDER BY created_at, id LIMIT $3",
		[]any{tenant, subjectRef, clampLimit(limit)}, func(r rows) error {
			c, err := scanCredential(r)
			out = append(out, c)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing credential records: %w", err)
	}
	return out, nil
}

// SetCredentialStatus sets the status of tenant's credential id to status
// when its current status is one of from, and counts a change on its list
// (so the list is published again), in one transaction (or the caller's).
// It returns the record as it is after the call and whether it changed:
// setting the status it already has is not a change (idempotent). Errors:
// ErrNotFound (no such credential for the tenant), ErrConflict (the
// current status is neither status nor in from).
func (s *Store) SetCredentialStatus(ctx context.Context, tenant, id string, status int, from []int) (IssuedCredential, bool, error) {
	var (
		out     IssuedCredential
		changed bool
	)
	err := s.InTx(ctx, func(tx *Store) error {
		c, err := scanCredential(tx.w().queryRow(ctx,
			"SELECT "+credentialColumns+" FROM credentials WHERE tenant_id = $1 AND id = $2", tenant, id))
		if err != nil {
			return err
		}
		if c.Status == status {
			out = c
			return nil
		}
		allowed := false
		for _, f := range from {
			allowed = allowed || f == c.Status
		}
		if !allowed {
			return ErrConflict.With("the credential's status does not allow this change", nil)
		}
		n, err := tx.w().exec(ctx,
			"UPDATE credentials SET status = $3 WHERE tenant_id = $1 AND id = $2 AND status = $4", tenant, id, status, c.Status)
		if err != nil {
			return err
		}
		if n == 0 {
			// A concurrent transaction changed it first (PostgreSQL, READ
			// COMMITTED): a new statement sees its result. Setting the
			// status it now has is no change.
			var now int64
			if err := tx.w().queryRow(ctx, "SELECT status FROM credentials WHERE tenant_id = $1 AND id = $2", tenant, id).Scan(&now); err != nil {
				return err
			}
			if int(now) == status {
				c.Status, out = status, c
				return nil
			}
			return ErrConflict.With("the credential's status changed concurrently", nil)
		}
		if _, err := tx.w().exec(ctx, "UPDATE status_lists SET change_seq = change_seq + 1 WHERE id = $1", c.ListID); err != nil {
			return err
		}
		c.Status = status
		out, changed = c, true
		return nil
	})
	if err != nil {
		return IssuedCredential{}, false, fmt.Errorf("setting credential status: %w", err)
	}
	return out, changed, nil
}

// StatusEntries returns the entries of list with a non-zero status.
func (s *Store) StatusEntries(ctx context.Context, listID string) ([]StatusEntry, error) {
	var out []StatusEntry
	err := forEach(ctx, s.r(),
		"SELECT status_idx, status FROM credentials WHERE status_list = $1 AND status <> 0 ORDER BY status_idx",
		[]any{listID}, func(r rows) error {
			var e StatusEntry
			var st int64
			err := r.Scan(&e.Index, &st)
			e.Status = int(st)
			out = append(out, e)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing status entries: %w", err)
	}
	return out, nil
}

// StatusListsToPublish returns, oldest first and at most limit, the lists
// that need a new version: never published, changed since their latest
// version, or unchanged but with a latest version created before
// refreshBefore (its token must be re-signed before it expires).
func (s *Store) StatusListsToPublish(ctx context.Context, limit int, refreshBefore time.Time) ([]StatusList, error) {
	var out []StatusList
	err := forEach(ctx, s.r(),
		"SELECT "+statusListColumns+" FROM status_lists l WHERE change_seq > published_seq"+
			" OR EXISTS (SELECT 1 FROM status_list_versions v WHERE v.list_id = l.id AND v.version = l.version AND v.created_at < $2)"+
			" ORDER BY created_at, id LIMIT $1",
		[]any{clampLimit(limit), toMicros(refreshBefore)}, func(r rows) error {
			l, err := scanStatusList(r)
			out = append(out, l)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing status lists to publish: %w", err)
	}
	return out, nil
}

// PutStatusListVersion stores version v.Version of a list, which must be
// exactly one more than its latest, and records that it covers v.Seq, in
// one transaction (or the caller's). Errors: ErrInvalid, ErrConflict
// (another publisher stored this version first), ErrNotFound (no list).
func (s *Store) PutStatusListVersion(ctx context.Context, v StatusListVersion) error {
	if err := need("status list ID", v.ListID, "token", v.Token, "hash", v.SHA256); err != nil {
		return err
	}
	if v.Version == 0 {
		return ErrInvalid.With("a status list version starts at 1", nil)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = s.now()
	}
	err := s.InTx(ctx, func(tx *Store) error {
		n, err := tx.w().exec(ctx,
			"UPDATE status_lists SET version = $2, published_seq = $3 WHERE id = $1 AND version = $4",
			v.ListID, int64(v.Version), v.Seq, int64(v.Version-1))
		if err == nil && n == 0 {
			err = notFoundOr(ctx, tx.w(), ErrConflict.With("the status list version is taken", nil),
				"SELECT 1 FROM status_lists WHERE id = $1", v.ListID)
		}
		if err != nil {
			return err
		}
		_, err = tx.w().exec(ctx,
			"INSERT INTO status_list_versions (list_id, version, token, sha256, seq, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
			v.ListID, int64(v.Version), v.Token, v.SHA256, v.Seq, toMicros(v.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("storing status list version: %w", err)
	}
	return nil
}

// GetStatusListVersion returns version of list, or the latest when version
// is 0. Errors: ErrNotFound.
func (s *Store) GetStatusListVersion(ctx context.Context, listID string, version uint64) (StatusListVersion, error) {
	q := "SELECT list_id, version, token, sha256, seq, created_at FROM status_list_versions WHERE list_id = $1 ORDER BY version DESC LIMIT 1"
	args := []any{listID}
	if version > 0 {
		q = "SELECT list_id, version, token, sha256, seq, created_at FROM status_list_versions WHERE list_id = $1 AND version = $2"
		args = append(args, int64(version))
	}
	var v StatusListVersion
	var ver, at int64
	if err := s.r().queryRow(ctx, q, args...).Scan(&v.ListID, &ver, &v.Token, &v.SHA256, &v.Seq, &at); err != nil {
		return StatusListVersion{}, fmt.Errorf("getting status list version: %w", err)
	}
	v.Version, v.CreatedAt = uint64(ver), fromMicros(at)
	return v, nil
}

// CreateOffer stores a new offer. Errors: ErrInvalid, ErrConflict (ID or
// code taken), ErrNotFound (no such tenant).
func (s *Store) CreateOffer(ctx context.Context, o CredentialOffer) error {
	if err := need("offer ID", o.ID, "tenant ID", o.TenantID, "configuration", o.ConfigID,
		"subject reference", o.SubjectRef, "actor", o.Actor); err != nil {
		return err
	}
	if len(o.CodeHash) == 0 || o.ExpiresAt.IsZero() {
		return ErrInvalid.With("an offer needs a code hash and an expiry", nil)
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now()
	}
	_, err := s.w().exec(ctx,
		`INSERT INTO credential_offers (id, tenant_id, config_id, subject_ref, subject_data, code_hash, tx_code_hash, state, actor, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		o.ID, o.TenantID, o.ConfigID, o.SubjectRef, nullBytes(o.SubjectData), o.CodeHash, nullBytes(o.TxCodeHash),
		OfferOffered, o.Actor, toMicros(o.CreatedAt), toMicros(o.ExpiresAt))
	if err != nil {
		return fmt.Errorf("creating credential offer: %w", err)
	}
	return nil
}

const offerColumns = "id, tenant_id, config_id, subject_ref, subject_data, code_hash, tx_code_hash, token_hash, token_jkt, attempts, state, actor, created_at, expires_at, token_expires_at"

func scanOffer(r row) (CredentialOffer, error) {
	var o CredentialOffer
	var attempts, created, exp, texp int64
	if err := r.Scan(&o.ID, &o.TenantID, &o.ConfigID, &o.SubjectRef, &o.SubjectData, &o.CodeHash, &o.TxCodeHash,
		&o.TokenHash, &o.TokenJKT, &attempts, &o.State, &o.Actor, &created, &exp, &texp); err != nil {
		return CredentialOffer{}, err
	}
	o.SubjectData, o.TxCodeHash, o.TokenHash = bytesOrNil(o.SubjectData), bytesOrNil(o.TxCodeHash), bytesOrNil(o.TokenHash)
	o.Attempts = int(attempts)
	o.CreatedAt, o.ExpiresAt, o.TokenExpiresAt = fromMicros(created), fromMicros(exp), fromMicros(texp)
	return o, nil
}

// GetOffer returns the offer with this ID. Errors: ErrNotFound.
func (s *Store) GetOffer(ctx context.Context, id string) (CredentialOffer, error) {
	o, err := scanOffer(s.r().queryRow(ctx, "SELECT "+offerColumns+" FROM credential_offers WHERE id = $1", id))
	if err != nil {
		return CredentialOffer{}, fmt.Errorf("getting credential offer: %w", err)
	}
	return o, nil
}

// OfferByCode returns the offer whose pre-authorized code hashes to
// codeHash while it is still offered and not expired at now. Errors:
// ErrNotFound (unknown, redeemed or expired).
func (s *Store) OfferByCode(ctx context.Context, codeHash []byte, now time.Time) (CredentialOffer, error) {
	o, err := scanOffer(s.r().queryRow(ctx,
		"SELECT "+offerColumns+" FROM credential_offers WHERE code_hash = $1 AND state = $2 AND expires_at > $3",
		codeHash, OfferOffered, toMicros(now)))
	if err != nil {
		return CredentialOffer{}, fmt.Errorf("finding offer by code: %w", err)
	}
	return o, nil
}

// AttemptOffer counts one token request against tenantID's offer whose
// code hashes to codeHash, atomically, and returns the offer as it is after
// counting. Only an offer of that tenant that is still offered, not expired
// at now, and under MaxTxCodeAttempts is counted; every other case (unknown
// code, another tenant's, used, expired, out of attempts) is ErrNotFound
// and changes nothing, so that concurrent guesses can never exceed the
// limit and a request at another tenant's endpoint never spends one.
func (s *Store) AttemptOffer(ctx context.Context, tenantID string, codeHash []byte, now time.Time) (CredentialOffer, error) {
	o, err := scanOffer(s.w().queryRow(ctx,
		`UPDATE credential_offers SET attempts = attempts + 1
		 WHERE code_hash = $1 AND state = $2 AND expires_at > $3 AND attempts < $4 AND tenant_id = $5
		 RETURNING `+offerColumns,
		planPerCall, codeHash, OfferOffered, toMicros(now), MaxTxCodeAttempts, tenantID))
	if err != nil {
		return CredentialOffer{}, fmt.Errorf("counting an offer attempt: %w", err)
	}
	return o, nil
}

// RedeemOffer moves an offered offer to token_issued with the access
// token's hash and expiry and, for a DPoP-bound token, the thumbprint of
// its key (tokenJKT; "" for a bearer token), all in one statement.
// Exactly one of concurrent callers succeeds; the others get ErrNotFound,
// as for a used or expired offer.
func (s *Store) RedeemOffer(ctx context.Context, id string, tokenHash []byte, tokenJKT string, tokenExpires, now time.Time) error {
	n, err := s.w().exec(ctx,
		`UPDATE credential_offers SET state = $2, token_hash = $3, token_expires_at = $4, token_jkt = $7
		 WHERE id = $1 AND state = $5 AND expires_at > $6`,
		id, OfferRedeemed, tokenHash, toMicros(tokenExpires), OfferOffered, toMicros(now), tokenJKT)
	if err == nil && n == 0 {
		err = ErrNotFound.With("the offer cannot be redeemed", nil)
	}
	if err != nil {
		return fmt.Errorf("redeeming credential offer: %w", err)
	}
	return nil
}

// OfferByToken returns the redeemed offer whose access token hashes to
// tokenHash and has not expired at now. Errors: ErrNotFound (unknown,
// expired or already used token).
func (s *Store) OfferByToken(ctx context.Context, tokenHash []byte, now time.Time) (CredentialOffer, error) {
	o, err := scanOffer(s.r().queryRow(ctx,
		"SELECT "+offerColumns+" FROM credential_offers WHERE token_hash = $1 AND state = $2 AND token_expires_at > $3",
		tokenHash, OfferRedeemed, toMicros(now)))
	if err != nil {
		return CredentialOffer{}, fmt.Errorf("finding offer by access token: %w", err)
	}
	return o, nil
}

// CompleteOffer marks a redeemed offer whose access token is still valid
// at now issued, and drops its subject data. Exactly one of concurrent
// callers succeeds; the others, and any caller once the token has
// expired, get ErrConflict.
func (s *Store) CompleteOffer(ctx context.Context, id string, now time.Time) error {
	n, err := s.w().exec(ctx,
		"UPDATE credential_offers SET state = $2, subject_data = NULL WHERE id = $1 AND state = $3 AND token_expires_at > $4",
		id, OfferIssued, OfferRedeemed, toMicros(now))
	if err == nil && n == 0 {
		err = ErrConflict.With("the access token was already used or has expired", nil)
	}
	if err != nil {
		return fmt.Errorf("completing credential offer: %w", err)
	}
	return nil
}

// DropStaleSubjectData clears the subject data of offers that can no
// longer lead to a credential at now (the code expired unredeemed, or the
// access token expired unused) and returns how many it cleared. The offer
// rows stay, for the audit trail.
func (s *Store) DropStaleSubjectData(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.w().exec(ctx,
		`UPDATE credential_offers SET subject_data = NULL WHERE subject_data IS NOT NULL
		 AND ((state = $1 AND expires_at <= $3) OR (state = $2 AND token_expires_at <= $3))`,
		OfferOffered, OfferRedeemed, toMicros(now))
	if err != nil {
		return 0, fmt.Errorf("dropping stale subject data: %w", err)
	}
	return n, nil
}
