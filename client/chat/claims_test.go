package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/commitclaim"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// TestAProvenCommitPassesTheNodesCheckAndNamesTheNextEpochsKey makes a
// real MLS commit and checks its claim: the node's check passes, the key
// is the current epoch's and the next key is what the group derives once
// the commit is merged, so the next claim will be under the key the node
// keeps. It holds in every suite: the claim's keys come from the MLS
// exporter, whose output length does not depend on the suite's hash.
func TestAProvenCommitPassesTheNodesCheckAndNamesTheNextEpochsKey(t *testing.T) {
	for _, id := range mls.SupportedSuites {
		t.Run(id.String(), func(t *testing.T) { testProvenCommit(t, id) })
	}
}

func testProvenCommit(t *testing.T, id mls.CipherSuiteID) {
	cs, err := mls.Suite(id)
	if err != nil {
		t.Fatal(err)
	}
	kpb, err := mls.NewKeyPackage(cs, mls.KeyPackageParams{Identity: []byte("alice@a.example")})
	if err != nil {
		t.Fatal(err)
	}
	g, err := mls.NewGroup(cs, []byte("group id"), kpb, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for epoch := range uint64(3) {
		k, err := EpochKey(g)
		if err != nil {
			t.Fatal(err)
		}
		out, err := g.SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		c, err := ProveCommit(g, out.Commit)
		if err != nil {
			t.Fatal(err)
		}
		if err := node.CheckCommitClaim(c); err != nil {
			t.Fatalf("epoch %d: the node refuses the claim: %v", epoch, err)
		}
		if c.Epoch != epoch || !bytes.Equal(c.Key, commitclaim.Public(k)) || !bytes.Equal(c.Group, []byte("group id")) {
			t.Fatalf("epoch %d: a claim of epoch %d of %q under another key", epoch, c.Epoch, c.Group)
		}
		if err := g.MergePendingCommit(); err != nil {
			t.Fatal(err)
		}
		next, err := EpochKey(g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.NextKey, commitclaim.Public(next)) {
			t.Fatalf("epoch %d: the claim names a next key the new epoch does not have", epoch)
		}
	}
}

// TestOnlyRefusalsThatCannotChangeEndTheResending checks which failed
// claims orderCommit sends again: lost answers and busy nodes yes, the
// node's refusals no.
func TestOnlyRefusalsThatCannotChangeEndTheResending(t *testing.T) {
	for _, err := range []error{protocol.ErrBadCommitClaim, protocol.ErrBadRequest, protocol.ErrUnauthenticated, protocol.ErrUnknownDomain, context.Canceled} {
		if !final(fmt.Errorf("order commit: %w", err)) {
			t.Errorf("%v would be sent again", err)
		}
	}
	for _, err := range []error{protocol.ErrRateLimited, protocol.ErrPeerUnreachable, protocol.ErrShuttingDown, io.EOF, errors.New("connection reset")} {
		if final(fmt.Errorf("order commit: %w", err)) {
			t.Errorf("%v ends the resending", err)
		}
	}
}

// TestTheBackoffDoublesUpToItsCapAndEndsWithTheContext checks the wait's
// growth (without timing it) and that an ended context ends the wait.
func TestTheBackoffDoublesUpToItsCapAndEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wait := firstCommitBackoff
	var seen []time.Duration
	for range 10 {
		if err := sleep(ctx, &wait); !errors.Is(err, context.Canceled) {
			t.Fatalf("sleep with an ended context: %v", err)
		}
		seen = append(seen, wait)
	}
	if seen[0] != 2*firstCommitBackoff || seen[len(seen)-1] != maxCommitBackoff {
		t.Errorf("waits %v: want doubling from %v up to %v", seen, firstCommitBackoff, maxCommitBackoff)
	}
}
