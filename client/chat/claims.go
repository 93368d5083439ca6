package chat

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/protocol"
)

// This file proves the engine's commit claims to the group's home node
// (crypto/commitclaim) and decides what to do when one is refused.

// Bounds of commitChange's rounds and waits.
const (
	// maxCommitRounds bounds how often a change is made again after its
	// epoch went to another member's commit, each time after catching up
	// on that commit: a round that catches up is progress, so honest
	// contention gets many rounds; the bound only keeps one operation
	// from running for ever under members who commit without pause.
	maxCommitRounds = 64
	// firstCommitBackoff is the wait before the second round, doubled
	// per round up to maxCommitBackoff, with jitter, so that members who
	// lost to each other do not collide again in lockstep.
	firstCommitBackoff = 10 * time.Millisecond
	maxCommitBackoff   = time.Second
	// orderAttempts bounds how often one claim is sent when the answer
	// is lost: the home node accepts the very claim again, so resending
	// is safe, and dropping a claim that was accepted would leave this
	// client behind its own commit.
	orderAttempts = 4
)

// EpochKey is the commit sequencer key of g's current epoch, which every
// member of the epoch derives alike (crypto/commitclaim).
func EpochKey(g *mls.Group) (ed25519.PrivateKey, error) {
	seed, err := g.Export(commitclaim.ExportLabel, g.GroupID(), commitclaim.SeedSize)
	if err != nil {
		return nil, err
	}
	return commitclaim.Key(seed)
}

// ProveCommit makes the claim of g's current epoch for g's pending
// commit: signed with the epoch's sequencer key, naming the key of the
// epoch the commit creates.
func ProveCommit(g *mls.Group, commit []byte) (client.CommitClaim, error) {
	k, err := EpochKey(g)
	if err != nil {
		return client.CommitClaim{}, err
	}
	seed, err := g.PendingExport(commitclaim.ExportLabel, g.GroupID(), commitclaim.SeedSize)
	if err != nil {
		return client.CommitClaim{}, err
	}
	next, err := commitclaim.Key(seed)
	if err != nil {
		return client.CommitClaim{}, err
	}
	group, epoch, nextKey := g.GroupID(), g.Epoch(), commitclaim.Public(next)
	return client.CommitClaim{
		Group: group, Epoch: epoch, Commit: commit,
		Key: commitclaim.Public(k), Proof: commitclaim.Sign(k, group, epoch, commit, nextKey), NextKey: nextKey,
	}, nil
}

// orderCommit sends claim to the group's home node, and sends it again,
// after a wait, when no answer came back (a broken connection, a busy or
// unreachable home node): a claim accepted before its answer was lost is
// accepted again. Refusals by the node that another try cannot change
// end it at once.
func (e *Engine) orderCommit(ctx context.Context, c *chatdb.Conversation, claim client.CommitClaim) (protocol.CommitOrder, error) {
	var err error
	wait := firstCommitBackoff
	for attempt := 1; ; attempt++ {
		var o protocol.CommitOrder
		if o, err = e.acct.Client.OrderCommit(ctx, c.Home, claim); err == nil || final(err) || attempt == orderAttempts {
			return o, err
		}
		e.log.Debug("commit claim unanswered; sending it again", "group", Label(*c), "epoch", claim.Epoch, "attempt", attempt, "err", err)
		if err := sleep(ctx, &wait); err != nil {
			return o, err
		}
	}
}

// final reports whether a failed claim would fail again as it is.
func final(err error) bool {
	for _, f := range []error{protocol.ErrBadCommitClaim, protocol.ErrBadRequest, protocol.ErrUnauthenticated,
		protocol.ErrSessionExpired, protocol.ErrInvalidToken, protocol.ErrUnknownDomain, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}

// sleep waits about *wait (jittered by up to half of it, so that clients
// that collided spread out) or until ctx ends, and doubles *wait up to
// maxCommitBackoff.
func sleep(ctx context.Context, wait *time.Duration) error {
	d := *wait/2 + rand.N(*wait/2+1)
	*wait = min(2**wait, maxCommitBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// groupBroken tells the user that the group cannot change from this
// client, and why, and returns the error for the operation: cause is
// wrapped with ErrGroupBroken. The group stays readable and writable;
// commits of other members that arrive still apply, and a later change
// tries again.
func (e *Engine) groupBroken(c *chatdb.Conversation, cause error) error {
	e.status("%s cannot change now: %v. Messages still work; if this persists after new messages arrived, start a new group", Label(*c), cause)
	return fmt.Errorf("%s: %w: %w", Label(*c), ErrGroupBroken, cause)
}
