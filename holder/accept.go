package holder

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vci"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
)

// Sent is the outcome of an accepted presentation.
type Sent struct {
	ID          string `json:"id"`
	Status      string `json:"status"` // sent, or prepared (device keys: to_sign)
	RedirectURI string `json:"redirect_uri,omitempty"`
	// LowCopies names the credentials with at most LowCopies fresh copies
	// left: the app should ask their issuer for a new batch.
	LowCopies []string    `json:"low_copies,omitempty"`
	ToSign    []SignInput `json:"to_sign,omitempty"`
}

// pendingDevice is a presentation waiting for device signatures of its
// KB-JWTs.
type pendingDevice struct {
	Queries []string   `json:"queries"` // the query of each presentation
	Bodies  []string   `json:"bodies"`  // the SD-JWT with the chosen disclosures, ending in ~
	Inputs  []string   `json:"inputs"`
	Keys    []keys.JWK `json:"keys"`
	// History is what the presentation discloses, recorded at submit.
	History []store.HolderHistoryEntry `json:"history"`
}

// AcceptPresentation builds and sends the presentation of consent id
// with the citizen's choices (credential query id → credential id; an
// optional query may be left out). Each chosen credential is presented
// from a copy that no verifier has seen (with CopyReuse: or only this
// one); only the claims the query selected are disclosed; the KB-JWT binds
// the verifier's nonce and its full client_id. What will be disclosed is
// recorded before it is sent, in one transaction: the consent is spent,
// the copies are taken (a copy another presentation took meanwhile makes
// it pick again) and the history gets its entries. The response then goes
// to the response_uri (direct_post, or direct_post.jwt encrypted to the
// verifier's key); a delivery that fails turns those entries to failed.
// The verifier's redirect_uri, for a same-device flow, is returned. With
// device keys the KB-JWTs' signing inputs are returned instead (status
// prepared) and SubmitPresentation sends. It runs once; bad choices leave
// the consent to be answered again. Errors: ErrNotFound, ErrFlowFinished,
// ErrInvalidChoice, ErrNoFreshCopy, ErrVerifierUnreachable,
// ErrVerifierRefused.
func (s *Service) AcceptPresentation(ctx context.Context, a *Account, id string, choices map[string]string) (*Sent, error) {
	var st presentState
	// Once-only: the consent and a fresh copy of each chosen credential
	// (a few: the choices are not checked yet) are read together, in one
	// round trip with PostgreSQL; with reuse the copy depends on the
	// verifier, which the consent names.
	var pre map[string]store.HolderCopyPick
	credIDs := distinctValues(choices)
	if s.cfg.CopyReuse || len(credIDs) > 4 {
		if err := s.readFlow(ctx, a, "present", id, "pending", &st); err != nil {
			return nil, notPending(err)
		}
	} else {
		t, picks, err := s.cfg.Store.GetHolderTransactionPicking(ctx, a.ID, "present", id, credIDs)
		if err := s.openFlow(a, t, err, id, "pending", &st); err != nil {
			return nil, notPending(err)
		}
		pre = map[string]store.HolderCopyPick{}
		for i, c := range credIDs {
			pre[c] = picks[i]
		}
	}
	if err := checkChoices(&st, choices); err != nil {
		return nil, err
	}
	var p *plan
	for attempt := 0; ; attempt++ {
		var err error
		if p, err = s.planPresentation(ctx, a, &st, choices, pre); err != nil {
			return nil, err
		}
		pre = nil // a retry picks again
		next, history := "accepted", p.history
		var sealed []byte
		if p.pending != nil {
			// The history is written when the phone's signatures come.
			next, history = "signing", nil
			st.Pending = p.pending
			if sealed, err = s.sealFlow(a, id, st); err != nil {
				return nil, err
			}
		}
		err = s.take(store.HolderTake{AccountID: a.ID, ID: id, From: "pending", To: next, State: sealed, Uses: p.uses, History: history, At: s.now()})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 9 {
			if errors.Is(err, store.ErrConflict) {
				return nil, ErrFlowFinished
			}
			return nil, fmt.Errorf("recording the presentation: %w", err)
		}
		// Another call spent the consent, or took a chosen copy.
		if err := s.readFlow(ctx, a, "present", id, "pending", &st); err != nil {
			return nil, notPending(err)
		}
	}
	if p.pending != nil {
		out := &Sent{ID: id, Status: "prepared", LowCopies: p.low}
		for i, in := range p.pending.Inputs {
			if in == "" {
				continue
			}
			tp, _ := p.pending.Keys[i].Thumbprint()
			pub, _ := p.pending.Keys[i].PublicKey()
			alg, _ := keys.AlgorithmFor(pub)
			out.ToSign = append(out.ToSign, SignInput{Key: tp, Alg: alg, SigningInput: in})
		}
		return out, nil
	}
	sent, err := s.respond(ctx, a, &st, p.vp, p.history)
	if err != nil {
		return nil, err
	}
	sent.ID, sent.LowCopies = id, p.low
	return sent, nil
}

// plan is a presentation built and not yet recorded.
type plan struct {
	uses    []store.HolderCopyUse
	history []store.HolderHistoryEntry
	vp      map[string][]string
	pending *pendingDevice
	low     []string
}

// planPresentation picks a fresh copy of each chosen credential (another
// for each choice) and builds its presentation: signed with a cloud key,
// or, for a device key, up to the KB-JWT's signing input.
func (s *Service) planPresentation(ctx context.Context, a *Account, st *presentState, choices map[string]string, pre map[string]store.HolderCopyPick) (*plan, error) {
	me := usedBy(st.Verifier.ClientID)
	p := &plan{vp: map[string][]string{}}
	var pending pendingDevice
	picked := map[string][]int{} // credential id → copies this presentation took
	for _, qid := range sortedKeys(choices) {
		credID := choices[qid]
		var (
			cp   store.HolderCopy
			k    store.HolderKey
			left int
			err  error
		)
		if pk, ok := pre[credID]; ok && pk.Fresh > 0 && len(picked[credID]) == 0 {
			// Read with the consent (once-only).
			cp, k, left = pk.Copy, pk.Key, pk.Fresh-1
		} else {
			cp, k, left, err = s.pickCopy(ctx, a, credID, me, s.cfg.CopyReuse, picked[credID])
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrInvalidChoice
		}
		if err != nil {
			return nil, err
		}
		picked[credID] = append(picked[credID], cp.N)
		if left <= LowCopies {
			p.low = append(p.low, credID)
		}
		p.uses = append(p.uses, store.HolderCopyUse{CredentialID: credID, N: cp.N, UsedBy: me, Reuse: s.cfg.CopyReuse})
		b, err := s.openCopy(a, credID, cp)
		if err != nil {
			return nil, err
		}
		ptrs := st.Pointers[qid+"|"+credID]
		names := pointerNames(ptrs)
		st.Claims[credID] = names
		p.history = append(p.history, s.historyEntry(a, "online", st.Verifier, credID, names, "shared"))
		if k.Mode == KeyDevice {
			body, err := sdjwt.Present(b.SDJWT, ptrs, nil)
			if err != nil {
				return nil, err
			}
			var jwk keys.JWK
			if err := json.Unmarshal([]byte(k.JWK), &jwk); err != nil {
				return nil, fmt.Errorf("reading the device key: %w", err)
			}
			in, err := kbSigningInput(body, jwk, st.Nonce, st.Verifier.ClientID, s.now(), hashesFor(st.TransactionData, choices, qid))
			if err != nil {
				return nil, err
			}
			pending.Queries, pending.Bodies = append(pending.Queries, qid), append(pending.Bodies, body)
			pending.Inputs, pending.Keys = append(pending.Inputs, in), append(pending.Keys, jwk)
			continue
		}
		sg, err := keys.Open(k.Sealed, a.dataKey)
		if err != nil {
			return nil, err
		}
		td := hashesFor(st.TransactionData, choices, qid)
		pres, err := sdjwt.Present(b.SDJWT, ptrs, &sdjwt.KeyBinding{Signer: sg, Nonce: st.Nonce, Audience: st.Verifier.ClientID, IssuedAt: s.now(),
			TransactionDataHashes: td.Hashes, TransactionDataHashesAlg: td.Alg})
		if err != nil {
			return nil, err
		}
		p.vp[qid] = append(p.vp[qid], pres)
	}
	if len(pending.Inputs) > 0 {
		// The phone signs; the cloud presentations wait with them.
		for _, qid := range sortedKeys(p.vp) {
			for _, pres := range p.vp[qid] {
				pending.Queries, pending.Bodies = append(pending.Queries, qid), append(pending.Bodies, pres)
				pending.Inputs, pending.Keys = append(pending.Inputs, ""), append(pending.Keys, keys.JWK{})
			}
		}
		pending.History = p.history
		p.pending = &pending
	}
	return p, nil
}

// SubmitPresentation sends a device-key presentation with the phone's
// KB-JWT signatures (base64url, one per to_sign entry, in order): the
// history is recorded and the consent spent in one transaction, then the
// response is sent. It runs once; bad signatures leave it to be
// submitted again. Errors: ErrNotFound, ErrFlowFinished, ErrBadSignatures,
// oid4vci.ErrBadDeviceSignature, and AcceptPresentation's sending errors.
func (s *Service) SubmitPresentation(ctx context.Context, a *Account, id string, sigs []string) (*Sent, error) {
	var st presentState
	if err := s.readFlow(ctx, a, "present", id, "signing", &st); err != nil {
		return nil, notPending(err)
	}
	p := st.Pending
	if p == nil {
		return nil, ErrFlowFinished
	}
	vp := map[string][]string{}
	k := 0
	for i, in := range p.Inputs {
		if in == "" {
			vp[p.Queries[i]] = append(vp[p.Queries[i]], p.Bodies[i])
			continue
		}
		if k >= len(sigs) {
			return nil, ErrBadSignatures
		}
		raw, err := base64.RawURLEncoding.DecodeString(sigs[k])
		k++
		if err != nil {
			return nil, ErrBadSignatures.With("a signature is not base64url", nil)
		}
		kb, err := oid4vci.Assemble(in, raw, sdjwt.TypKBJWT, p.Keys[i])
		if err != nil {
			return nil, err
		}
		vp[p.Queries[i]] = append(vp[p.Queries[i]], p.Bodies[i]+kb)
	}
	if k != len(sigs) {
		return nil, ErrBadSignatures
	}
	err := s.take(store.HolderTake{AccountID: a.ID, ID: id, From: "signing", To: "submitted", History: p.History, At: s.now()})
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrFlowFinished
	}
	if err != nil {
		return nil, fmt.Errorf("recording the presentation: %w", err)
	}
	sent, err := s.respond(ctx, a, &st, vp, p.History)
	if err != nil {
		return nil, err
	}
	sent.ID = id
	return sent, nil
}

// kbSigningInput is the signing input of the KB-JWT of body (an SD-JWT
// with its disclosures, ending in ~) for a device key, with the hashes of
// the transactions it authorizes.
func kbSigningInput(body string, jwk keys.JWK, nonce, aud string, iat time.Time, td txHashes) (string, error) {
	pub, err := jwk.PublicKey()
	if err != nil {
		return "", err
	}
	alg, err := keys.AlgorithmFor(pub)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(body))
	header, err := json.Marshal(map[string]string{"alg": alg, "typ": sdjwt.TypKBJWT})
	if err != nil {
		return "", err
	}
	payload, err := sdjwt.KBPayload(sdjwt.KeyBinding{Nonce: nonce, Audience: aud, IssuedAt: iat,
		TransactionDataHashes: td.Hashes, TransactionDataHashesAlg: td.Alg}, base64.RawURLEncoding.EncodeToString(h[:]))
	if err != nil {
		return "", err
	}
	return oid4vci.SigningInput(header, payload), nil
}

// checkChoices: every choice names a query and one of its candidates,
// every required query is chosen, and the choices satisfy every required
// credential set.
func checkChoices(st *presentState, choices map[string]string) error {
	if len(choices) == 0 {
		return ErrInvalidChoice.With("nothing was chosen", nil)
	}
	for qid, credID := range choices {
		if _, ok := st.Pointers[qid+"|"+credID]; !ok {
			return ErrInvalidChoice
		}
	}
	for _, q := range st.Required {
		if _, ok := choices[q]; !ok {
			return ErrInvalidChoice.With("a required query was left out", nil)
		}
	}
	for _, td := range st.TransactionData {
		if td.authorizer(choices) == "" {
			return ErrInvalidChoice.With("a transaction of the request needs one of its credentials chosen", nil)
		}
	}
	for _, set := range st.Sets {
		if !set.Required {
			continue
		}
		ok := false
		for _, opt := range set.Options {
			all := true
			for _, q := range opt {
				if _, chosen := choices[q]; !chosen {
					all = false
				}
			}
			ok = ok || all
		}
		if !ok {
			return ErrInvalidChoice.With("a required credential set is not satisfied", nil)
		}
	}
	return nil
}

// distinctValues are the distinct values of m, sorted.
func distinctValues(m map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range sortedKeys(m) {
		if v := m[k]; !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// pickCopy chooses a fresh copy of credential credID for the verifier me
// (its client_id's hash), not one of except, and returns it with its key
// and the number of fresh copies left after it; with reuse a copy already
// me's is fresh too, and chosen first (shown again: not one fewer left);
// otherwise a random fresh one. The store chooses (one query); the copy is
// only taken by TakeHolderPresentation or UseHolderCopy. Errors:
// store.ErrNotFound (no such credential), ErrNoFreshCopy.
func (s *Service) pickCopy(ctx context.Context, a *Account, credID, me string, reuse bool, except []int) (store.HolderCopy, store.HolderKey, int, error) {
	p, err := s.cfg.Store.PickHolderCopy(ctx, a.ID, credID, me, reuse, except)
	if errors.Is(err, store.ErrNotFound) {
		return store.HolderCopy{}, store.HolderKey{}, 0, err
	}
	if err != nil {
		return store.HolderCopy{}, store.HolderKey{}, 0, fmt.Errorf("choosing a copy: %w", err)
	}
	if p.Fresh == 0 {
		return store.HolderCopy{}, store.HolderKey{}, 0, ErrNoFreshCopy
	}
	left := p.Fresh - 1
	if reuse && p.Copy.UsedBy == me {
		left = p.Fresh
	}
	return p.Copy, p.Key, left, nil
}

// respond posts the VP Token to the verifier; when it is not delivered,
// the history entries recorded for it become failed.
func (s *Service) respond(ctx context.Context, a *Account, st *presentState, vp map[string][]string, history []store.HolderHistoryEntry) (*Sent, error) {
	r := &oid4vp.Response{VPToken: vp, State: st.State}
	var form url.Values
	if st.ResponseMode == oid4vp.DirectPostJWT {
		jwe, err := oid4vp.EncryptResponse(r, *st.EncKey, st.Enc)
		if err != nil {
			return nil, err
		}
		form = url.Values{"response": {jwe}}
	} else {
		var err error
		if form, err = oid4vp.ResponseForm(r); err != nil {
			return nil, err
		}
	}
	res, err := s.send(ctx, http.MethodPost, st.ResponseURI, nil, form)
	if err == nil && res.Status != http.StatusOK {
		err = ErrVerifierRefused.With(fmt.Sprintf("the verifier answered %d", res.Status), nil)
	}
	if err != nil {
		for _, h := range history {
			if herr := s.cfg.Store.SetHolderHistoryOutcome(ctx, a.ID, h.ID, "failed"); herr != nil {
				s.log.WarnContext(ctx, "holder could not mark an undelivered presentation", "error", errs.CodeOf(herr))
			}
		}
		return nil, err
	}
	var ans struct {
		RedirectURI string `json:"redirect_uri"`
	}
	_ = json.Unmarshal(res.Body, &ans)
	out := &Sent{Status: "sent"}
	if ans.RedirectURI != "" {
		if u, err := url.Parse(ans.RedirectURI); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			out.RedirectURI = ans.RedirectURI
		}
	}
	s.log.InfoContext(ctx, "holder presentation sent", "account", a.ID, "verifier", st.Verifier.DID, "credentials", len(st.Claims))
	return out, nil
}

// DeclinePresentation answers consent id with access_denied; nothing is
// disclosed, and the history records the decline in the transaction that
// spends the consent. It runs once.
func (s *Service) DeclinePresentation(ctx context.Context, a *Account, id string) error {
	var st presentState
	if err := s.readFlow(ctx, a, "present", id, "pending", &st); err != nil {
		return notPending(err)
	}
	var names []string
	for _, q := range st.Queries {
		names = append(names, q.Claims...)
	}
	h := s.historyEntry(a, "online", st.Verifier, "", names, "declined")
	err := s.take(store.HolderTake{AccountID: a.ID, ID: id, From: "pending", To: "declined", History: []store.HolderHistoryEntry{h}, At: s.now()})
	if errors.Is(err, store.ErrConflict) {
		return ErrFlowFinished
	}
	if err != nil {
		return fmt.Errorf("declining: %w", err)
	}
	return s.sendError(ctx, &st, "access_denied", "the holder declined")
}

// take records a presentation as store.TakeHolderPresentation does, in a
// transaction it may share with concurrent presentations (each is whole
// or absent, with its own outcome).
func (s *Service) take(t store.HolderTake) error {
	_, err := s.takes.Do(t)
	return err
}

// sealFlow seals a flow's state under a's data key.
func (s *Service) sealFlow(a *Account, id string, state any) ([]byte, error) {
	b, err := json.Marshal(state)
	if err != nil {
		return nil, err
	}
	return keys.SealData(a.dataKey, b, flowContext(a.ID, id))
}
