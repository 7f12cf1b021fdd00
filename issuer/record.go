package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
)

// The database work of credential requests (Service.Credential), done in
// groups of concurrent requests (groupCommit): the access-token look-up
// (step 1), the record transaction (step 2) and marking the records
// issued (step 5).

// maxAllocTries bounds the retries of a record transaction (a
// serialization failure or a lost race on a new list).
const maxAllocTries = 4

// groupTimeout bounds one group's transaction; the requests in it wait
// for it whatever their own deadlines.
const groupTimeout = 30 * time.Second

// lookupJob is one credential request's access-token look-up.
type lookupJob struct {
	tokenHash []byte
	// Set by the group.
	offer store.CredentialOffer
	found bool
}

// lookupGroup finds the offers of a group of access tokens with one query.
func (s *Service) lookupGroup(jobs []*lookupJob) []error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	hashes := make([][]byte, len(jobs))
	for i, j := range jobs {
		hashes[i] = j.tokenHash
	}
	found, err := s.cfg.Store.OffersByTokens(ctx, hashes, s.now())
	res := make([]error, len(jobs))
	for i, j := range jobs {
		if err != nil {
			res[i] = err
			continue
		}
		j.offer, j.found = found[string(j.tokenHash)]
	}
	return res
}

// recordJob is one credential request's step 2 (record before sign).
type recordJob struct {
	t      *tenant
	cfg    *CredentialConfig
	offer  store.CredentialOffer
	nonces []string
	dpop   *dpopProof // the request's DPoP proof, for a DPoP-bound token
	plans  []*plan
	now    time.Time
}

// recordGroup runs step 2 for a group of requests in one transaction:
// it uses up their c_nonces and access tokens, allocates the status
// indices, and writes the pending records and the audit records. A
// request whose nonce or token is no longer good gets its error and no
// record; the others go on. A taken index is redrawn inside the
// transaction; a lost race (a conflict, a serialization failure or a
// deadlock) retries the whole group. Any other error of a group of
// several that is not the database being unavailable could be one
// request's fault: the requests are then recorded one by one, so that it
// fails that request alone.
func (s *Service) recordGroup(jobs []*recordJob) []error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	res, err := s.recordTx(ctx, jobs)
	if err == nil {
		return res
	}
	res = make([]error, len(jobs))
	if len(jobs) > 1 && errs.KindOf(err) != errs.Unavailable && ctx.Err() == nil {
		for i, j := range jobs {
			one, err := s.recordTx(ctx, []*recordJob{j})
			if err != nil {
				one = []error{err}
			}
			res[i] = one[0]
		}
		return res
	}
	for i := range res {
		res[i] = err
	}
	return res
}

// recordTx runs jobs in one transaction, retrying lost races, and returns
// each job's outcome, or the error that failed the transaction.
func (s *Service) recordTx(ctx context.Context, jobs []*recordJob) ([]error, error) {
	res := make([]error, len(jobs))
	for try := 0; ; try++ {
		err := s.inTx(ctx, func(tx Tx) error {
			clear(res)
			return s.recordIn(ctx, tx, jobs, res)
		})
		switch {
		case err == nil:
			var plans []*plan
			for i, j := range jobs {
				if res[i] == nil {
					plans = append(plans, j.plans...)
				}
			}
			s.maybeRecount(plans)
			return res, nil
		case (errors.Is(err, store.ErrConflict) || store.IsSerializationFailure(err)) && try+1 < maxAllocTries:
			continue
		}
		return nil, fmt.Errorf("recording credentials: %w", err)
	}
}

func (s *Service) recordIn(ctx context.Context, tx Tx, jobs []*recordJob, res []error) error {
	now := s.now()
	if err := s.useDPoPs(ctx, tx, jobs, res, now); err != nil {
		return err
	}
	var nonces []string
	for i, j := range jobs {
		if res[i] == nil {
			nonces = append(nonces, j.nonces...)
		}
	}
	data, err := tx.ConsumeSingleUses(ctx, "c_nonce", nonces, now)
	if err != nil {
		return err
	}
	// Each nonce serves one request (of its tenant), each token one.
	taken := map[string]bool{}
	var offers []string
	for i, j := range jobs {
		if res[i] != nil {
			continue
		}
		for _, n := range j.nonces {
			if d, ok := data[n]; !ok || taken[n] || string(d) != j.t.ID {
				res[i] = ErrInvalidNonce
				break
			}
		}
		if res[i] != nil {
			continue
		}
		for _, n := range j.nonces {
			taken[n] = true
		}
		offers = append(offers, j.offer.ID)
	}
	completed, err := tx.CompleteOffers(ctx, offers, now)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	lists := map[string]store.StatusList{}
	var todo []*plan
	var audits []store.AuditRecord
	for i, j := range jobs {
		if res[i] != nil {
			continue
		}
		if !completed[j.offer.ID] || used[j.offer.ID] {
			res[i] = ErrInvalidToken
			continue
		}
		used[j.offer.ID] = true
		key := fmt.Sprintf("%s/%d", j.t.ID, j.cfg.StatusBits)
		l, ok := lists[key]
		if !ok {
			if l, err = s.openList(ctx, tx, j.t.ID, j.cfg.StatusBits, now); err != nil {
				return err
			}
			lists[key] = l
		}
		for _, p := range j.plans {
			p.t, p.cfg, p.list = j.t, j.cfg, l
			todo = append(todo, p)
		}
		audits = append(audits, store.AuditRecord{Time: j.now, TenantID: j.t.ID, Actor: "wallet",
			Action: "credential.issue", Target: j.offer.ID, Outcome: "ok",
			Details: fmt.Appendf(nil, `{"count":%d,"configuration":%q}`, len(j.plans), j.cfg.ID)})
	}
	if err := s.insertAll(ctx, tx, todo); err != nil {
		return err
	}
	if len(audits) == 0 {
		return nil
	}
	if err := tx.AppendAudits(ctx, audits); err != nil {
		return store.ErrAuditUnavailable.With("", err)
	}
	return nil
}

// recountEvery is how many allocations of this process pass between
// refreshing the allocation counts of the lists it used; a list counts as
// full at half its size, so the slack is harmless.
const recountEvery = 1024

// maybeRecount refreshes the allocation count of the lists plans used,
// every recountEvery allocations (the count is kept off the hot path so
// that concurrent issuances never queue on a list's row). The recount
// runs in its own goroutine, so that no record group waits for it.
func (s *Service) maybeRecount(plans []*plan) {
	after := s.allocs.Add(int64(len(plans)))
	if (after-int64(len(plans)))/recountEvery == after/recountEvery {
		return
	}
	var lists []string
	for _, p := range plans {
		if !slices.Contains(lists, p.rec.ListID) {
			lists = append(lists, p.rec.ListID)
		}
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
		defer cancel()
		for _, id := range lists {
			if _, err := s.cfg.Store.RecountStatusList(ctx, id); err != nil {
				s.log.Warn("recounting a status list", "error", err.Error())
			}
		}
	}()
}

// openList returns a list of tenant with room, creating one when none has.
func (s *Service) openList(ctx context.Context, tx Tx, tenantID string, bits int, now time.Time) (store.StatusList, error) {
	l, err := tx.OpenStatusList(ctx, tenantID, bits)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return l, err
	}
	id := randomID()
	l = store.StatusList{ID: id, TenantID: tenantID, URI: s.cfg.PublicURL + "/status/" + id, Bits: bits,
		Size: s.cfg.ListSize, PublishedSeq: -1, CreatedAt: now}
	if err := tx.CreateStatusList(ctx, l); err != nil {
		return store.StatusList{}, err
	}
	return l, nil
}

// maxDraws bounds the index draws for one credential; the list is at
// most about half full, so 64 misses in a row do not happen by chance.
const maxDraws = 64

// insertAll draws a random index of its list for every plan and inserts
// the records, drawing again for those whose index was taken until all
// are in. A taken index is refused by the unique constraint without
// aborting the transaction, so no look-up precedes the insert.
func (s *Service) insertAll(ctx context.Context, tx Tx, todo []*plan) error {
	for range maxDraws {
		if len(todo) == 0 {
			return nil
		}
		recs := make([]store.IssuedCredential, len(todo))
		for i, p := range todo {
			p.rec.ListID, p.rec.Index = p.list.ID, randomIndex(p.list.Size)
			var err error
			if p.claims, err = s.claimsJSON(p.t, p.cfg, p, p.list.URI); err != nil {
				return errs.Wrap(errs.Internal, "", "", err)
			}
			sum := sha256.Sum256(p.claims)
			p.rec.ClaimsHash = sum[:]
			recs[i] = p.rec
		}
		in, err := tx.InsertCredentials(ctx, recs)
		if err != nil {
			return err
		}
		next := todo[:0]
		for i, p := range todo {
			if !in[i] {
				next = append(next, p)
			}
		}
		todo = next
	}
	if len(todo) == 0 {
		return nil
	}
	return errs.E(errs.Unavailable, "status_list_full", "no free status index was found, try again")
}

// markGroup runs step 5 for a group of requests: one statement marks all
// their records issued.
func (s *Service) markGroup(jobs [][]store.CredentialRef) []error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	var all []store.CredentialRef
	for _, refs := range jobs {
		all = append(all, refs...)
	}
	marked, err := s.cfg.Store.MarkCredentialsIssued(ctx, all, s.now())
	res := make([]error, len(jobs))
	for i, refs := range jobs {
		switch {
		case err != nil:
			res[i] = fmt.Errorf("marking credentials issued: %w", err)
		case !allMarked(marked, refs):
			res[i] = fmt.Errorf("marking credentials issued: %w", store.ErrConflict.With("a credential record is not pending", nil))
		}
	}
	return res
}

func allMarked(marked map[store.CredentialRef]bool, refs []store.CredentialRef) bool {
	for _, r := range refs {
		if !marked[r] {
			return false
		}
	}
	return true
}

func randomIndex(size int) int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	v := uint64(0)
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return int64(v % uint64(size)) // a 64-bit draw: the modulo bias is below 2^-40
}
