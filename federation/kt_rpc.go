package federation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// KTGossipInterval is how often a link exchanges key transparency heads
// after the exchange when it comes up, unless Config says otherwise.
const KTGossipInterval = time.Minute

// KeyLog is this node's key transparency log, for the peers' ktConsistency
// calls; node/store implements it.
type KeyLog interface {
	// KTConsistency returns the consistency proof from first to second
	// (0: the latest head) and the signed head of second.
	KTConsistency(first, second uint64) (proof [][]byte, head []byte, err error)
}

// KTWatch checks the tree heads and evidence that links bring and says
// which heads to gossip (ktwatch.Watch).
type KTWatch interface {
	// Observe checks one head; an error refuses it.
	Observe(ctx context.Context, head []byte) error
	// Take checks evidence a peer handed over and keeps it if it holds.
	Take(ctx context.Context, e protocol.KTEvidence) error
	// Heads returns the heads to gossip, this node's own first.
	Heads() ([][]byte, error)
	// Evidence returns the evidence kept, newest first, at most limit.
	Evidence(limit int) ([]protocol.KTEvidence, error)
}

// MaxKTCallsPerMinute bounds the key transparency calls one peer makes:
// a gossip a minute and the consistency proofs its checks need leave
// plenty; a consistency proof of an older size costs a signature.
const MaxKTCallsPerMinute = 120

// ktAllowance counts a peer's kt calls in the current minute.
type ktAllowance struct {
	mu    sync.Mutex
	start time.Time
	n     int
}

func (a *ktAllowance) take(now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.start) >= time.Minute || now.Before(a.start) {
		a.start, a.n = now, 0
	}
	if a.n >= MaxKTCallsPerMinute {
		return fmt.Errorf("%w: %d key transparency calls this minute", protocol.ErrRateLimited, a.n)
	}
	a.n++
	return nil
}

var errNoKT = fmt.Errorf("%w: this node keeps no key transparency log", protocol.ErrBadRequest)

// KtGossip implements FederationService.ktGossip: the peer's heads are
// checked, and this node's heads and evidence go back.
func (s *server) KtGossip(ctx context.Context, call schemas.FederationService_ktGossip) error {
	call.Go() // may ask a third node for a consistency proof
	return s.do(ctx, "ktGossip", func(ctx context.Context) error {
		kt := s.m.cfg.KT
		if kt == nil {
			return errNoKT
		}
		if err := s.kt.take(s.m.cfg.Now()); err != nil {
			return err
		}
		list, err := call.Args().Heads()
		if err != nil {
			return protocol.BadRequest(err)
		}
		heads, err := protocol.DataListFromWire("head", list, protocol.MaxKTHeads, protocol.MaxKTHeadBytes)
		if err != nil {
			return err
		}
		for _, h := range heads {
			if err := kt.Observe(ctx, h); err != nil {
				s.log.Debug("kt: gossiped head refused", "err", err)
			}
		}
		mine, err := kt.Heads()
		if err != nil {
			return err
		}
		ev, err := kt.Evidence(protocol.MaxKTEvidence)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		if err := protocol.DataListToWire(mine, res.NewHeads); err != nil {
			return err
		}
		return protocol.KTEvidenceToWire(ev, res.NewEvidence)
	})
}

// KtConsistency implements FederationService.ktConsistency.
func (s *server) KtConsistency(ctx context.Context, call schemas.FederationService_ktConsistency) error {
	return s.do(ctx, "ktConsistency", func(ctx context.Context) error {
		log := s.m.cfg.KeyLog
		if log == nil {
			return errNoKT
		}
		if err := s.kt.take(s.m.cfg.Now()); err != nil {
			return err
		}
		proof, head, err := log.KTConsistency(call.Args().First(), call.Args().Second())
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		if err := protocol.DataListToWire(proof, res.NewProof); err != nil {
			return err
		}
		return res.SetHead(head)
	})
}

// ktGossip hands the peer this node's heads and returns the peer's heads
// and evidence.
func (l *link) ktGossip(ctx context.Context, heads [][]byte) ([][]byte, []protocol.KTEvidence, error) {
	fut, release := l.peer.KtGossip(ctx, func(p schemas.FederationService_ktGossip_Params) error {
		return protocol.DataListToWire(heads, p.NewHeads)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, nil, l.callErr(err)
	}
	list, err := res.Heads()
	if err != nil {
		return nil, nil, err
	}
	theirs, err := protocol.DataListFromWire("head", list, protocol.MaxKTHeads, protocol.MaxKTHeadBytes)
	if err != nil {
		return nil, nil, err
	}
	evl, err := res.Evidence()
	if err != nil {
		return nil, nil, err
	}
	ev, err := protocol.KTEvidenceFromWire(evl)
	if err != nil {
		return nil, nil, err
	}
	return theirs, ev, nil
}

// ktConsistency asks the peer for the consistency proof of its own log.
func (l *link) ktConsistency(ctx context.Context, first, second uint64) ([][]byte, error) {
	fut, release := l.peer.KtConsistency(ctx, func(p schemas.FederationService_ktConsistency_Params) error {
		p.SetFirst(first)
		p.SetSecond(second)
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, l.callErr(err)
	}
	list, err := res.Proof()
	if err != nil {
		return nil, err
	}
	return protocol.DataListFromWire("proof hash", list, protocol.MaxKTProofHashes, 32)
}

// KTConsistency asks the node of domain, over the direct link to it, for
// the consistency proof of its log from tree size first to second: the
// watch's ktwatch.ConsistencyFunc. Only the log's own node can give one;
// without a link to it, the heads stay unjudged.
func (m *Manager) KTConsistency(ctx context.Context, domain string, first, second uint64) ([][]byte, error) {
	l, err := m.route(domain)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	return l.ktConsistency(ctx, first, second)
}

// gossipKT exchanges heads over l when it comes up and every
// Config.KTGossipInterval until it ends.
func (m *Manager) gossipKT(l *link) {
	t := time.NewTicker(m.cfg.KTGossipInterval)
	defer t.Stop()
	for {
		m.gossipOnce(l)
		select {
		case <-l.rc.Done():
			return
		case <-l.conn.Context().Done():
			return
		case <-t.C:
		}
	}
}

// gossipOnce is one exchange of heads over l.
func (m *Manager) gossipOnce(l *link) {
	kt := m.cfg.KT
	heads, err := kt.Heads()
	if err != nil {
		m.log.Error("kt: heads to gossip", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(l.conn.Context(), m.cfg.CallTimeout)
	defer cancel()
	theirs, ev, err := l.ktGossip(ctx, heads)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			m.log.Debug("kt: gossip failed", "peer", l.domain, "err", err)
		}
		return
	}
	for _, h := range theirs {
		if err := kt.Observe(ctx, h); err != nil {
			m.log.Debug("kt: head from gossip refused", "peer", l.domain, "err", err)
		}
	}
	for _, e := range ev {
		if err := kt.Take(ctx, e); err != nil {
			m.log.Debug("kt: evidence from gossip refused", "peer", l.domain, "err", err)
		}
	}
}

// observeAnswer remembers the head of a key answer passed through this
// node, for gossip; a head that does not check out is logged (the client
// checks it too).
func (m *Manager) observeAnswer(ctx context.Context, k protocol.PublishedKeys) {
	if m.cfg.KT == nil || k.Transparency == nil {
		return
	}
	if err := m.cfg.KT.Observe(ctx, k.Transparency.Head); err != nil {
		m.log.Debug("kt: head of a key answer refused", "err", err)
	}
}
