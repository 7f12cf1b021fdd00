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
	"slices"
	"time"

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
}

// AcceptPresentation builds and sends the presentation of consent id
// with the citizen's choices (credential query id → credential id; an
// optional query may be left out). Each chosen credential is presented
// from a copy that no verifier has seen (with CopyReuse: or only this
// one), taken atomically so that two presentations never share a copy;
// only the claims the query selected are disclosed; the KB-JWT binds the
// verifier's nonce and its full client_id. The response goes to the
// response_uri (direct_post, or direct_post.jwt encrypted to the
// verifier's key) and the verifier's redirect_uri, for a same-device flow,
// is returned. With device keys the KB-JWTs' signing inputs are returned
// instead (status prepared) and SubmitPresentation sends. The history
// records what was disclosed (claim names). It runs once. Errors:
// ErrNotFound, ErrFlowFinished, ErrInvalidChoice, ErrNoFreshCopy,
// ErrVerifierUnreachable, ErrVerifierRefused.
func (s *Service) AcceptPresentation(ctx context.Context, a *Account, id string, choices map[string]string) (*Sent, error) {
	var st presentState
	if err := s.takeFlow(ctx, a, "present", id, "pending", "accepted", &st, func() error { return checkChoices(&st, choices) }); err != nil {
		return nil, notPending(err)
	}
	me := usedBy(st.Verifier.ClientID)
	var (
		vp      = map[string][]string{}
		pending pendingDevice
		low     []string
	)
	for _, qid := range sortedKeys(choices) {
		credID := choices[qid]
		rec, err := s.cfg.Store.GetHolderCredential(ctx, a.ID, credID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrInvalidChoice
		}
		if err != nil {
			return nil, fmt.Errorf("reading credential: %w", err)
		}
		cp, left, err := s.takeCopy(ctx, a, rec, me, s.cfg.CopyReuse)
		if err != nil {
			return nil, err
		}
		if left <= LowCopies {
			low = append(low, credID)
		}
		b, err := s.openCopy(a, credID, cp)
		if err != nil {
			return nil, err
		}
		ptrs := st.Pointers[qid+"|"+credID]
		st.Claims[credID] = pointerNames(ptrs)
		k, err := s.cfg.Store.GetHolderKey(ctx, a.ID, cp.KeyID)
		if err != nil {
			return nil, fmt.Errorf("reading the copy's key: %w", err)
		}
		if k.Mode == KeyDevice {
			body, err := sdjwt.Present(b.SDJWT, ptrs, nil)
			if err != nil {
				return nil, err
			}
			var jwk keys.JWK
			if err := json.Unmarshal([]byte(k.JWK), &jwk); err != nil {
				return nil, fmt.Errorf("reading the device key: %w", err)
			}
			in, err := kbSigningInput(body, jwk, st.Nonce, st.Verifier.ClientID, s.now())
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
		pres, err := sdjwt.Present(b.SDJWT, ptrs, &sdjwt.KeyBinding{Signer: sg, Nonce: st.Nonce, Audience: st.Verifier.ClientID, IssuedAt: s.now()})
		if err != nil {
			return nil, err
		}
		vp[qid] = append(vp[qid], pres)
	}
	if len(pending.Inputs) > 0 {
		// The phone signs; the cloud presentations wait with them.
		for _, qid := range sortedKeys(vp) {
			for _, p := range vp[qid] {
				pending.Queries, pending.Bodies = append(pending.Queries, qid), append(pending.Bodies, p)
				pending.Inputs, pending.Keys = append(pending.Inputs, ""), append(pending.Keys, keys.JWK{})
			}
		}
		st.Pending = &pending
		out := &Sent{ID: id, Status: "prepared", LowCopies: low}
		for i, in := range pending.Inputs {
			if in == "" {
				continue
			}
			tp, _ := pending.Keys[i].Thumbprint()
			pub, _ := pending.Keys[i].PublicKey()
			alg, _ := keys.AlgorithmFor(pub)
			out.ToSign = append(out.ToSign, SignInput{Key: tp, Alg: alg, SigningInput: in})
		}
		if err := s.updateFlow(ctx, a, id, "accepted", "signing", st); err != nil {
			return nil, err
		}
		return out, nil
	}
	sent, err := s.respond(ctx, a, &st, vp)
	if err != nil {
		return nil, err
	}
	sent.ID, sent.LowCopies = id, low
	return sent, nil
}

// SubmitPresentation sends a device-key presentation with the phone's
// KB-JWT signatures (base64url, one per to_sign entry, in order). It runs
// once; bad signatures leave it to be submitted again. Errors: ErrNotFound, ErrFlowFinished, ErrBadSignatures,
// oid4vci.ErrBadDeviceSignature, and AcceptPresentation's sending errors.
func (s *Service) SubmitPresentation(ctx context.Context, a *Account, id string, sigs []string) (*Sent, error) {
	var st presentState
	vp := map[string][]string{}
	assemble := func() error {
		p := st.Pending
		if p == nil {
			return ErrFlowFinished
		}
		k := 0
		for i, in := range p.Inputs {
			if in == "" {
				vp[p.Queries[i]] = append(vp[p.Queries[i]], p.Bodies[i])
				continue
			}
			if k >= len(sigs) {
				return ErrBadSignatures
			}
			raw, err := base64.RawURLEncoding.DecodeString(sigs[k])
			k++
			if err != nil {
				return ErrBadSignatures.With("a signature is not base64url", nil)
			}
			kb, err := oid4vci.Assemble(in, raw, sdjwt.TypKBJWT, p.Keys[i])
			if err != nil {
				return err
			}
			vp[p.Queries[i]] = append(vp[p.Queries[i]], p.Bodies[i]+kb)
		}
		if k != len(sigs) {
			return ErrBadSignatures
		}
		return nil
	}
	if err := s.takeFlow(ctx, a, "present", id, "signing", "submitted", &st, assemble); err != nil {
		return nil, notPending(err)
	}
	sent, err := s.respond(ctx, a, &st, vp)
	if err != nil {
		return nil, err
	}
	sent.ID = id
	return sent, nil
}

// kbSigningInput is the signing input of the KB-JWT of body (an SD-JWT
// with its disclosures, ending in ~) for a device key.
func kbSigningInput(body string, jwk keys.JWK, nonce, aud string, iat time.Time) (string, error) {
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
	payload, err := json.Marshal(struct {
		Nonce  string `json:"nonce"`
		Aud    string `json:"aud"`
		Iat    int64  `json:"iat"`
		SDHash string `json:"sd_hash"`
	}{nonce, aud, iat.Unix(), base64.RawURLEncoding.EncodeToString(h[:])})
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

// takeCopy marks a fresh copy of rec as this verifier's (me) and returns
// it with the number of fresh copies left after it; with reuse a copy
// already me's is fresh too, and taken first. A copy another
// presentation took meanwhile is skipped. Errors: ErrNoFreshCopy.
func (s *Service) takeCopy(ctx context.Context, a *Account, rec store.HolderCredential, me string, reuse bool) (store.HolderCopy, int, error) {
	fresh := func(cp store.HolderCopy) bool { return cp.UsedBy == "" || (reuse && cp.UsedBy == me) }
	n := 0
	for _, cp := range rec.Copies {
		if fresh(cp) {
			n++
		}
	}
	// With reuse, the verifier's own copy first: it has seen it already.
	order := slices.Clone(rec.Copies)
	if reuse {
		slices.SortStableFunc(order, func(x, y store.HolderCopy) int {
			return map[bool]int{true: 0, false: 1}[x.UsedBy == me] - map[bool]int{true: 0, false: 1}[y.UsedBy == me]
		})
	}
	for _, cp := range order {
		if !fresh(cp) {
			continue
		}
		err := s.cfg.Store.UseHolderCopy(ctx, a.ID, rec.ID, cp.N, me, reuse, s.now())
		if errors.Is(err, store.ErrConflict) {
			n--
			continue
		}
		if err != nil {
			return store.HolderCopy{}, 0, fmt.Errorf("taking a copy: %w", err)
		}
		left := n - 1
		if reuse && cp.UsedBy == me {
			left = n
		}
		return cp, left, nil
	}
	return store.HolderCopy{}, 0, ErrNoFreshCopy
}

// respond posts the VP Token to the verifier and records the history.
func (s *Service) respond(ctx context.Context, a *Account, st *presentState, vp map[string][]string) (*Sent, error) {
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
	outcome := "shared"
	if err != nil || res.Status != http.StatusOK {
		outcome = "failed"
	}
	for _, credID := range sortedKeys(st.Claims) {
		if herr := s.record(ctx, a, "online", st.Verifier, credID, st.Claims[credID], outcome); herr != nil {
			return nil, herr
		}
	}
	if err != nil {
		return nil, err
	}
	if res.Status != http.StatusOK {
		return nil, ErrVerifierRefused.With(fmt.Sprintf("the verifier answered %d", res.Status), nil)
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
// disclosed, and the history records the decline. It runs once.
func (s *Service) DeclinePresentation(ctx context.Context, a *Account, id string) error {
	var st presentState
	if err := s.takeFlow(ctx, a, "present", id, "pending", "declined", &st, nil); err != nil {
		return notPending(err)
	}
	var names []string
	for _, q := range st.Queries {
		names = append(names, q.Claims...)
	}
	if err := s.record(ctx, a, "online", st.Verifier, "", names, "declined"); err != nil {
		return err
	}
	return s.sendError(ctx, &st, "access_denied", "the holder declined")
}

// updateFlow replaces a flow's sealed state and moves its status.
func (s *Service) updateFlow(ctx context.Context, a *Account, id, from, to string, state any) error {
	b, err := json.Marshal(state)
	if err != nil {
		return err
	}
	sealed, err := keys.SealData(a.dataKey, b, flowContext(a.ID, id))
	if err != nil {
		return err
	}
	return s.cfg.Store.FinishHolderTransaction(ctx, a.ID, id, from, to, sealed)
}
