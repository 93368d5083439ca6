package node

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/protocol"
)

// This file is the node's part as MLS delivery service (DESIGN §5) beyond
// storing key packages: it orders the commits of each group. Two members
// who commit at the same moment would fork their group, so the group's
// home node (the node of its creator) accepts exactly one commit per
// epoch and hands the loser the commits it lacks. Commits are opaque
// (MLS PrivateMessages); the node compares them only byte for byte.
//
// Only members can move the sequencer (crypto/commitclaim): each epoch
// has a sequencer key derived from the MLS exporter, the node keeps the
// public key of each group's next epoch, and a claim is signed with the
// claimed epoch's key over its commit and the key of the epoch it
// creates. Without it any logged-in user, ex-member or relaying node
// could claim an epoch far ahead with junk and freeze the group for good.
// The node learns public keys derived one-way from exporter secrets:
// nothing of the group's keys or messages.

// CommitSequencer orders the commits of MLS groups on disk.
type CommitSequencer interface {
	// OrderCommit accepts c.Commit as the commit of c.Epoch of c.Group,
	// or refuses it, as CommitOrder describes. A group it does not know
	// is registered by the claim (trust on first claim), which is
	// accepted. Of a known group, it accepts a claim of exactly the next
	// epoch whose Key is the kept key of that epoch, and then keeps
	// c.NextKey as the key of the epoch after; a claim of an epoch below
	// next with the very commit accepted for it is accepted again (a
	// retry), another one proven with that epoch's kept key is refused
	// with the kept commits of epochs epoch..next-1. Any other claim (a
	// key that is not the epoch's, an epoch above next or older than the
	// kept commits) fails with an error wrapping ErrBadCommitClaim and
	// changes nothing. It is atomic: of concurrent claims of one epoch
	// exactly one is accepted. The answer is durable when it returns. A
	// claim that CheckCommitClaim refuses fails with its error.
	OrderCommit(c protocol.CommitClaim) (protocol.CommitOrder, error)
}

// CheckCommitClaim checks the parts of a commit claim that every
// sequencer refuses: the group id's length, an empty commit and the last
// epoch, which has no next (ErrBadRequest), and a proof that does not
// verify under the claim's own key (ErrBadCommitClaim). Whether the key
// is the epoch's is the sequencer's to check. Stores call it too.
func CheckCommitClaim(c protocol.CommitClaim) error {
	switch {
	case len(c.Group) == 0 || len(c.Group) > protocol.MaxGroupID:
		return errorf(protocol.ErrBadRequest, "group id of %d bytes (1-%d)", len(c.Group), protocol.MaxGroupID)
	case len(c.Commit) == 0:
		return errorf(protocol.ErrBadRequest, "empty commit")
	case c.Epoch == math.MaxUint64:
		return errorf(protocol.ErrBadRequest, "epoch %d has no next epoch", c.Epoch)
	}
	if err := commitclaim.Verify(c.Key, c.Proof, c.Group, c.Epoch, c.Commit, c.NextKey); err != nil {
		return errorf(protocol.ErrBadCommitClaim, "epoch %d: %v", c.Epoch, err)
	}
	return nil
}

// checkCommit adds the node's payload limit to CheckCommitClaim.
func (s *Service) checkCommit(c protocol.CommitClaim) error {
	if len(c.Commit) > s.limits.MaxPayload {
		return errorf(protocol.ErrBadRequest, "commit of %d bytes, limit %d", len(c.Commit), s.limits.MaxPayload)
	}
	return CheckCommitClaim(c)
}

// orderCommit orders a commit of a group whose home is this node.
func (s *Service) orderCommit(c protocol.CommitClaim) (protocol.CommitOrder, error) {
	o, err := s.store.OrderCommit(c)
	switch {
	case err == nil && o.Accepted:
		s.obs.CommitOrdered(OutcomeAccepted)
	case err == nil:
		s.obs.CommitOrdered(OutcomeRefused)
	case errors.Is(err, protocol.ErrBadCommitClaim):
		s.obs.CommitOrdered(OutcomeBadClaim)
	}
	return o, err
}

// orderAtHome orders a claim here when home is this node's domain, and
// else passes it through federation to the node serving home
// (ErrUnknownDomain without federation).
func (s *Service) orderAtHome(ctx context.Context, home string, c protocol.CommitClaim) (protocol.CommitOrder, error) {
	local, err := s.parseDomain(home)
	switch {
	case err != nil:
		return protocol.CommitOrder{}, err
	case local:
		return s.orderCommit(c)
	}
	return s.fed.OrderCommit(ctx, strings.ToLower(home), c)
}

// OrderCommit claims c's epoch at the group's home node: this one when
// home is "" or this node's domain, else the node serving home, through
// federation (ErrUnknownDomain without it). It needs a session and counts
// against the connection's enqueue rate. A session is not membership:
// the claim's proof is (see CommitSequencer).
func (c *Conn) OrderCommit(ctx context.Context, home string, claim protocol.CommitClaim) (protocol.CommitOrder, error) {
	if _, err := c.user(); err != nil {
		return protocol.CommitOrder{}, err
	}
	if !c.enqueue.take(1, c.svc.now()) {
		return protocol.CommitOrder{}, protocol.ErrRateLimited
	}
	// Checked after the rate: verifying a signature costs the router more
	// than taking a token.
	if err := c.svc.checkCommit(claim); err != nil {
		return protocol.CommitOrder{}, err
	}
	if home == "" {
		return c.svc.orderCommit(claim)
	}
	return c.svc.orderAtHome(ctx, home, claim)
}

// KeyPackageCount returns how many key packages of MLS cipher suite suite
// (0 means SuiteClassic) of the connection's device (UseDevice; the primary
// device's if none) the node holds, the last-resort one not counted, and
// whether it holds a last-resort one.
func (c *Conn) KeyPackageCount(suite uint16) (count int, lastResort bool, err error) {
	_, queue, err := c.queue()
	if err != nil {
		return 0, false, err
	}
	return c.svc.store.KeyPackageCount(queue, fetchSuite(suite))
}

// OrderCommit claims c's epoch on behalf of one of the peer's clients. A
// home of this node is ordered here; another is passed on through
// federation, as lookups are (federation bounds the hops). The claim
// counts against the peer's relay rate.
func (p *Peer) OrderCommit(ctx context.Context, home string, c protocol.CommitClaim) (protocol.CommitOrder, error) {
	if err := p.Allow(1); err != nil {
		return protocol.CommitOrder{}, err
	}
	if err := p.svc.checkCommit(c); err != nil {
		return protocol.CommitOrder{}, err
	}
	if home == "" {
		return protocol.CommitOrder{}, errorf(protocol.ErrBadRequest, "a commit claim from a peer names no home domain")
	}
	return p.svc.orderAtHome(ctx, home, c)
}
