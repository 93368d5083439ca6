package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/protocol"
)

// Bounds of the key transparency calls (schemas/node.capnp).
const (
	// MaxKTEntries is the most log entries one ktEntries call returns.
	MaxKTEntries = 1000
	// MaxKTEntriesBytes is the most bytes of entries one call returns.
	MaxKTEntriesBytes = 1 << 20
	// ktHealthEvidence is the most evidence a health answer carries.
	ktHealthEvidence = 8
)

// KeyLog is the key transparency log the store keeps next to the
// directory (node/store implements it when opened with Options.KT).
type KeyLog interface {
	// KTProof returns the proof that user's current keys are in the log,
	// with the consistency proof from knownSize to the latest head.
	KTProof(user string, knownSize uint64) (protocol.KeyProof, error)
	// KTConsistency returns the consistency proof from first to second
	// (0: the latest head) and the signed head of second.
	KTConsistency(first, second uint64) (proof [][]byte, head []byte, err error)
	// KTEntries returns up to count entries from start, at most maxBytes
	// of them (at least one when there is one).
	KTEntries(start uint64, count int, maxBytes int) ([][]byte, error)
	// KTHead returns the latest signed head, nil without a log.
	KTHead() ([]byte, error)
}

// KTWatch checks tree heads that reach the node and keeps the evidence
// of logs that misbehave (ktwatch.Watch).
type KTWatch interface {
	// Observe checks one head; an error refuses the head itself, a
	// contradiction becomes evidence.
	Observe(ctx context.Context, head []byte) error
	// Evidence returns the evidence kept, newest first, at most limit.
	Evidence(limit int) ([]protocol.KTEvidence, error)
}

// errNoKT refuses the kt calls of a node without key transparency.
var errNoKT = fmt.Errorf("%w: this node keeps no key transparency log", protocol.ErrBadRequest)

// ktTake takes one token of the connection's kt allowance. The kt calls
// need no session: auditors read the log without an account.
func (c *Conn) ktTake() error {
	if c.svc.keyLog == nil {
		return errNoKT
	}
	if !c.kt.take(1, c.svc.now()) {
		return protocol.ErrRateLimited
	}
	return nil
}

// KTConsistency returns the log's consistency proof from tree size first
// to second (0: the latest head) and the signed head of second.
func (c *Conn) KTConsistency(first, second uint64) (proof [][]byte, head []byte, err error) {
	if err := c.ktTake(); err != nil {
		return nil, nil, err
	}
	return c.svc.keyLog.KTConsistency(first, second)
}

// KTEntries returns the log's entries from start, at most count,
// MaxKTEntries and MaxKTEntriesBytes.
func (c *Conn) KTEntries(start uint64, count uint32) ([][]byte, error) {
	if err := c.ktTake(); err != nil {
		return nil, err
	}
	return c.svc.keyLog.KTEntries(start, int(min(count, MaxKTEntries)), MaxKTEntriesBytes)
}

// KTGossip checks the heads a client hands over (at most
// protocol.MaxKTHeads) and returns the evidence the node holds. A head
// the node refuses (not signed by who may sign for its domain) is
// skipped: the client learns of it by its own checks.
func (c *Conn) KTGossip(ctx context.Context, heads [][]byte) ([]protocol.KTEvidence, error) {
	if err := c.ktTake(); err != nil {
		return nil, err
	}
	if c.svc.ktWatch == nil {
		return nil, errNoKT
	}
	if len(heads) > protocol.MaxKTHeads {
		return nil, errorf(protocol.ErrBadRequest, "%d heads (at most %d)", len(heads), protocol.MaxKTHeads)
	}
	for i, h := range heads {
		if err := c.svc.ktWatch.Observe(ctx, h); err != nil {
			c.svc.log.Debug("kt: gossiped head refused", "index", i, "err", err)
		}
	}
	return c.svc.ktWatch.Evidence(protocol.MaxKTEvidence)
}

// withProof adds the transparency proof of user's keys to k. A store
// without a log leaves k as it is; knownSize beyond the log is the
// asker's error (ErrBadRequest): a client that saw a larger head than the
// node has now was shown a log that is gone.
func (s *Service) withProof(user string, k protocol.PublishedKeys, knownSize uint64) (protocol.PublishedKeys, error) {
	if s.keyLog == nil {
		return k, nil
	}
	p, err := s.keyLog.KTProof(user, knownSize)
	switch {
	case err == nil:
		k.Transparency = &p
	case errors.Is(err, protocol.ErrBadRequest):
		return protocol.PublishedKeys{}, err
	default:
		// Keys without an entry: the client refuses them and says
		// so; the node says why in its log.
		s.log.Error("kt: no proof for published keys", "user", user, "err", err)
	}
	return k, nil
}

// ktHealth adds the log's head and the evidence to h.
func (s *Service) ktHealth(h *protocol.Health) error {
	if s.keyLog != nil {
		head, err := s.keyLog.KTHead()
		if err != nil {
			return err
		}
		h.KTHead = head
	}
	if s.ktWatch != nil {
		ev, err := s.ktWatch.Evidence(ktHealthEvidence)
		if err != nil {
			return err
		}
		h.KTEvidence = ev
	}
	return nil
}
