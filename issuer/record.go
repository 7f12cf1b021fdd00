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
	"github.com/ssi-project/ssi/internal/groupcommit"
	"github.com/ssi-project/ssi/internal/store"
)

// The database work of credential requests (Service.Credential), done in
// groups of concurrent requests (internal/groupcommit): the access-token look-up
// (step 1), the record transaction (step 2) and marking the records
// issued (step 5).

// maxAllocTries bounds the retries of a record transaction (a
// serialization failure or a lost race on a new list).
const maxAllocTries = 4

// groupTimeout bounds one group's transaction; the requests in it wait
// for it whatever their own deadlines (but not past shutdown, see
// internal/groupcommit).
const groupTimeout = 30 * time.Second

// lookupResult is the outcome of one access-token look-up: the offer the
// token was issued for, if it is live.
type lookupResult struct {
	offer store.CredentialOffer
	found bool
}

// lookupGroup finds the offers of a group of access tokens, each job the
// hash of one, with one query.
func (s *Service) lookupGroup(ctx context.Context, tokenHashes [][]byte) []groupcommit.Outcome[lookupResult] {
	found, err := s.cfg.Store.OffersByTokens(ctx, tokenHashes, s.now())
	res := make([]groupcommit.Outcome[lookupResult], len(tokenHashes))
	for i, h := range tokenHashes {
		if err != nil {
			res[i].Err = err
			continue
		}
		o, ok := found[string(h)]
		res[i].Val = lookupResult{offer: o, found: ok}
	}
	return res
}

// recordJob is one credential request's step 2 (record before sign): its
// inputs, which the record group does not change.
type recordJob struct {
	t      *tenant
	cfg    *CredentialConfig
	offer  store.CredentialOffer
	nonces []string
	dpop   *dpopProof // the request's DPoP proof, for a DPoP-bound token
	plans  []*plan
	now    time.Time
}

// recorded is one credential as its record group stored it: the record,
// with the status list, index and claims hash drawn for it, and the
// claims to sign, which hash to the recorded hash.
type recorded struct {
	rec    store.IssuedCredential
	claims []byte
}

// recordOutcome is one record job's outcome: a recorded credential per
// plan, in the order of its plans.
type recordOutcome = groupcommit.Outcome[[]recorded]

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
func (s *Service) recordGroup(ctx context.Context, jobs []*recordJob) []recordOutcome {
	res, err := s.recordTx(ctx, jobs)
	if err == nil {
		return res
	}
	res = make([]recordOutcome, len(jobs))
	if len(jobs) > 1 && errs.KindOf(err) != errs.Unavailable && ctx.Err() == nil {
		for i, j := range jobs {
			one, err := s.recordTx(ctx, []*recordJob{j})
			if err != nil {
				one = []recordOutcome{{Err: err}}
			}
			res[i] = one[0]
		}
		return res
	}
	for i := range res {
		res[i].Err = err
	}
	return res
}

// recordTx runs jobs in one transaction, retrying lost races, and returns
// each job's outcome, or the error that failed the transaction.
func (s *Service) recordTx(ctx context.Context, jobs []*recordJob) ([]recordOutcome, error) {
	for try := 0; ; try++ {
		var res []recordOutcome
		err := s.inTx(ctx, func(tx Tx) error {
			res = make([]recordOutcome, len(jobs)) // nothing of a rolled-back try
			return s.recordIn(ctx, tx, jobs, res)
		})
		switch {
		case err == nil:
			s.maybeRecount(res)
			return res, nil
		case (errors.Is(err, store.ErrConflict) || store.IsSerializationFailure(err)) && try+1 < maxAllocTries:
			continue
		}
		return nil, fmt.Errorf("recording credentials: %w", err)
	}
}

// recordIn is the record transaction of jobs: it writes each job's
// outcome into res (an error, or its recorded credentials), and returns
// an error that fails the whole transaction.
func (s *Service) recordIn(ctx context.Context, tx Tx, jobs []*recordJob, res []recordOutcome) error {
	now := s.now()
	if err := s.useDPoPs(ctx, tx, jobs, res, now); err != nil {
		return err
	}
	var nonces []string
	for i, j := range jobs {
		if res[i].Err == nil {
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
		if res[i].Err != nil {
			continue
		}
		for _, n := range j.nonces {
			if d, ok := data[n]; !ok || taken[n] || string(d) != j.t.ID {
				res[i].Err = ErrInvalidNonce
				break
			}
		}
		if res[i].Err != nil {
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
	var todo []draft
	var audits []store.AuditRecord
	for i, j := range jobs {
		if res[i].Err != nil {
			continue
		}
		if !completed[j.offer.ID] || used[j.offer.ID] {
			res[i].Err = ErrInvalidToken
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
		res[i].Val = make([]recorded, len(j.plans))
		for k, p := range j.plans {
			todo = append(todo, draft{p: p, t: j.t, cfg: j.cfg, list: l, out: &res[i].Val[k]})
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

// maybeRecount refreshes the allocation count of the lists that the
// credentials recorded in res used, every recountEvery allocations (the
// count is kept off the hot path so that concurrent issuances never queue
// on a list's row). The recount runs in its own goroutine, so that no
// record group waits for it, until done or shutdown.
func (s *Service) maybeRecount(res []recordOutcome) {
	n := 0
	for _, o := range res {
		n += len(o.Val)
	}
	after := s.allocs.Add(int64(n))
	if (after-int64(n))/recountEvery == after/recountEvery {
		return
	}
	var lists []string
	for _, o := range res {
		for _, r := range o.Val {
			if !slices.Contains(lists, r.rec.ListID) {
				lists = append(lists, r.rec.ListID)
			}
		}
	}
	go func() {
		ctx, cancel := context.WithTimeout(s.life, groupTimeout)
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

// draft is a plan being recorded, with its tenant, configuration and
// list; out is its job's result slot, which insertAll fills in.
type draft struct {
	p    *plan
	t    *tenant
	cfg  *CredentialConfig
	list store.StatusList
	out  *recorded
}

// insertAll draws a random index of its list for every draft and inserts
// the records, drawing again for those whose index was taken until all
// are in. A taken index is refused by the unique constraint without
// aborting the transaction, so no look-up precedes the insert.
func (s *Service) insertAll(ctx context.Context, tx Tx, todo []draft) error {
	for range maxDraws {
		if len(todo) == 0 {
			return nil
		}
		recs := make([]store.IssuedCredential, len(todo))
		for i, d := range todo {
			rec := d.p.rec
			rec.ListID, rec.Index = d.list.ID, randomIndex(d.list.Size)
			claims, err := s.claimsJSON(d.t, d.cfg, d.p, rec, d.list.URI)
			if err != nil {
				return errs.Wrap(errs.Internal, "", "", err)
			}
			sum := sha256.Sum256(claims)
			rec.ClaimsHash = sum[:]
			*d.out = recorded{rec: rec, claims: claims}
			recs[i] = rec
		}
		in, err := tx.InsertCredentials(ctx, recs)
		if err != nil {
			return err
		}
		next := todo[:0]
		for i, d := range todo {
			if !in[i] {
				next = append(next, d)
			}
		}
		todo = next
	}
	if len(todo) == 0 {
		return nil
	}
	return errs.E(errs.Unavailable, "status_list_full", "no free status index was found, try again")
}

// markGroup runs step 5 for a group of requests, each job the records of
// one: one statement marks all their records issued.
func (s *Service) markGroup(ctx context.Context, jobs [][]store.CredentialRef) []groupcommit.Outcome[struct{}] {
	var all []store.CredentialRef
	for _, refs := range jobs {
		all = append(all, refs...)
	}
	marked, err := s.cfg.Store.MarkCredentialsIssued(ctx, all, s.now())
	res := make([]groupcommit.Outcome[struct{}], len(jobs))
	for i, refs := range jobs {
		switch {
		case err != nil:
			res[i].Err = fmt.Errorf("marking credentials issued: %w", err)
		case !allMarked(marked, refs):
			res[i].Err = fmt.Errorf("marking credentials issued: %w", store.ErrConflict.With("a credential record is not pending", nil))
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
