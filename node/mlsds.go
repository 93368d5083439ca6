package node

import (
	"context"
	"math"
	"strings"
)

// This file is the node's part as MLS delivery service (DESIGN §5) beyond
// storing key packages: it orders the commits of each group. Two members
// who commit at the same moment would fork their group, so the group's
// home node (the node of its creator) accepts exactly one commit per
// epoch and hands the loser the commits it lacks. Commits are opaque
// (MLS PrivateMessages); the node compares them only byte for byte.

// CommitOrder is the answer of the node that orders a group's commits.
type CommitOrder struct {
	// Accepted is true when the commit now holds its epoch.
	Accepted bool
	// Next is the epoch of the group's next commit as the sequencer knows it.
	Next uint64
	// Missing holds, when refused, the accepted commits of epochs
	// epoch..Next-1 that are still kept, oldest first (at most MaxMissingCommits).
	Missing [][]byte
}

// MaxMissingCommits is the most commits a refused claim gets back; a
// client further behind catches up in several rounds.
const MaxMissingCommits = 16

// MaxGroupID is the longest MLS group id the node orders commits for, in
// bytes.
const MaxGroupID = 255

// CommitSequencer orders the commits of MLS groups on disk.
type CommitSequencer interface {
	// OrderCommit accepts commit as the commit of epoch of group, or
	// refuses it, as CommitOrder describes: a group it does not know, or
	// an epoch at or above the group's next, is accepted and moves next
	// to epoch+1; an epoch below next is accepted again only with the
	// very commit accepted for it, else refused with the kept commits of
	// epochs epoch..next-1. It is atomic: of concurrent claims of one
	// epoch exactly one is accepted. The answer is durable when it
	// returns. An empty or too long group id, an empty commit or the
	// epoch 2⁶⁴-1 fail with an error wrapping ErrBadRequest.
	OrderCommit(group []byte, epoch uint64, commit []byte) (CommitOrder, error)
}

// CheckCommitClaim checks the parts of a commit claim that every
// sequencer refuses: the group id's length, an empty commit, and the last
// epoch, which has no next. Stores call it too.
func CheckCommitClaim(group []byte, epoch uint64, commit []byte) error {
	switch {
	case len(group) == 0 || len(group) > MaxGroupID:
		return errorf(ErrBadRequest, "group id of %d bytes (1-%d)", len(group), MaxGroupID)
	case len(commit) == 0:
		return errorf(ErrBadRequest, "empty commit")
	case epoch == math.MaxUint64:
		return errorf(ErrBadRequest, "epoch %d has no next epoch", epoch)
	}
	return nil
}

// checkCommit adds the node's payload limit to CheckCommitClaim.
func (s *Service) checkCommit(group []byte, epoch uint64, commit []byte) error {
	if len(commit) > s.limits.MaxPayload {
		return errorf(ErrBadRequest, "commit of %d bytes, limit %d", len(commit), s.limits.MaxPayload)
	}
	return CheckCommitClaim(group, epoch, commit)
}

// orderCommit orders a commit of a group whose home is this node.
func (s *Service) orderCommit(group []byte, epoch uint64, commit []byte) (CommitOrder, error) {
	o, err := s.store.OrderCommit(group, epoch, commit)
	if err == nil {
		s.obs.CommitOrdered(o.Accepted)
	}
	return o, err
}

// orderAtHome orders a claim here when home is this node's domain, and
// else passes it through federation to the node serving home
// (ErrUnknownDomain without federation).
func (s *Service) orderAtHome(ctx context.Context, home string, group []byte, epoch uint64, commit []byte) (CommitOrder, error) {
	local, err := s.parseDomain(home)
	switch {
	case err != nil:
		return CommitOrder{}, err
	case local:
		return s.orderCommit(group, epoch, commit)
	}
	return s.fed.OrderCommit(ctx, strings.ToLower(home), group, epoch, commit)
}

// OrderCommit claims epoch of group for commit at the group's home node:
// this one when home is "" or this node's domain, else the node serving
// home, through federation (ErrUnknownDomain without it). It needs a
// session and counts against the connection's enqueue rate.
func (c *Conn) OrderCommit(ctx context.Context, home string, group []byte, epoch uint64, commit []byte) (CommitOrder, error) {
	if _, err := c.user(); err != nil {
		return CommitOrder{}, err
	}
	if err := c.svc.checkCommit(group, epoch, commit); err != nil {
		return CommitOrder{}, err
	}
	if !c.enqueue.take(1, c.svc.now()) {
		return CommitOrder{}, ErrRateLimited
	}
	if home == "" {
		return c.svc.orderCommit(group, epoch, commit)
	}
	return c.svc.orderAtHome(ctx, home, group, epoch, commit)
}

// KeyPackageCount returns how many key packages of the logged-in user the
// node holds, the last-resort one not counted, and whether it holds a
// last-resort one.
func (c *Conn) KeyPackageCount() (count int, lastResort bool, err error) {
	user, err := c.user()
	if err != nil {
		return 0, false, err
	}
	return c.svc.store.KeyPackageCount(user)
}

// OrderCommit claims epoch of group for commit on behalf of one of the
// peer's clients. A home of this node is ordered here; another is passed
// on through federation, as lookups are (federation bounds the hops).
// The claim counts against the peer's relay rate.
func (p *Peer) OrderCommit(ctx context.Context, home string, group []byte, epoch uint64, commit []byte) (CommitOrder, error) {
	if err := p.Allow(1); err != nil {
		return CommitOrder{}, err
	}
	if err := p.svc.checkCommit(group, epoch, commit); err != nil {
		return CommitOrder{}, err
	}
	if home == "" {
		return CommitOrder{}, errorf(ErrBadRequest, "a commit claim from a peer names no home domain")
	}
	return p.svc.orderAtHome(ctx, home, group, epoch, commit)
}
