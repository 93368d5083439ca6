package mls

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGroupsConverge builds groups through the API and changes them at
// random; after every step all members agree and read each other.
func TestGroupsConverge(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		for _, tc := range []struct {
			size, steps, shortSteps int
			// senders bounds how many members send in the checks between
			// steps (0: all); the first and last checks always use all.
			senders int
			// private sends proposals and commits as PrivateMessages.
			private bool
		}{
			{2, 30, 10, 0, false},
			{3, 40, 15, 0, false},
			{3, 30, 10, 0, true},
			{50, 25, 4, 3, false},
		} {
			name := fmt.Sprint(tc.size, " members")
			if tc.private {
				name += " with private handshakes"
			}
			t.Run(name, func(t *testing.T) {
				steps := tc.steps
				if testing.Short() {
					steps = tc.shortSteps
				}
				rng := rand.New(rand.NewPCG(uint64(tc.size), 12))
				w := newWorld(t, cs, &Config{PrivateHandshake: tc.private})
				for len(w.members) < tc.size {
					w.add("c0", min(tc.size-len(w.members), 16))
				}
				w.check(rng, 0)
				if tc.private {
					out, err := w.members["c0"].SelfUpdate()
					if err != nil {
						t.Fatal(err)
					}
					var m MLSMessage
					if err := Unmarshal(out.Commit, &m); err != nil || m.WireFormat != WireFormatPrivateMessage {
						t.Fatalf("commit sent as wire format %d (%v)", m.WireFormat, err)
					}
					w.deliver("c0", out, nil)
				}
				// One removal for certain, then random changes.
				names := w.names()
				w.commit(names[0], &CommitOptions{Remove: []LeafIndex{w.members[names[len(names)-1]].OwnLeaf()}})
				for len(w.members) < max(2, tc.size/2) {
					w.add(w.names()[0], 1)
				}
				w.check(rng, tc.senders)
				for i := range steps {
					w.randomStep(rng, tc.size)
					// Grow back to the target size so that every size keeps being exercised.
					for len(w.members) < max(2, tc.size/2) {
						w.add(w.names()[0], 1)
					}
					senders := tc.senders
					if i == steps-1 {
						senders = 0
					}
					w.check(rng, senders)
					if i == steps-1 {
						t.Logf("%d steps, epoch %d, %d members, %d removed", steps, w.members[w.names()[0]].Epoch(), len(w.members), len(w.removed))
					}
				}
				if len(w.removed) == 0 {
					t.Errorf("no member was removed in %d steps", steps)
				}
			})
		}
	})
}

func TestWelcomeWithSeparateTree(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		cfg := &Config{OmitRatchetTree: true}
		a, err := NewGroup(cs, []byte("g"), newBundle(t, cs, "a"), nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		b := newBundle(t, cs, "b")
		out, err := a.AddMembers(&b.KeyPackage)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := JoinGroup(out.Welcome, b, nil, cfg); err == nil {
			t.Fatal("joined without a ratchet tree")
		}
		if err := a.MergePendingCommit(); err != nil {
			t.Fatal(err)
		}
		tree, err := a.RatchetTree()
		if err != nil {
			t.Fatal(err)
		}
		gb, err := JoinGroup(out.Welcome, b, tree, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gb.EpochAuthenticator(), a.EpochAuthenticator()) {
			t.Fatal("joiner with a separate tree diverged")
		}
	})
}

// TestPendingCommitLosesTheEpoch has two members commit in the same epoch:
// the delivery service orders b's first, so a's pending commit is discarded.
func TestPendingCommitLosesTheEpoch(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 2)
		a, b := w.members["c0"], w.members["c1"]
		outA, err := a.SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Encrypt([]byte("x"), nil); err == nil {
			t.Error("sent application data with a pending commit")
		}
		if _, err := a.SelfUpdate(); err == nil {
			t.Error("created a second commit while one is pending")
		}
		outB, err := b.SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		w.deliver("c1", outB, nil)
		if a.HasPendingCommit() {
			t.Fatal("a kept its pending commit after b's commit won the epoch")
		}
		if _, err := b.ProcessMessage(outA.Commit); err == nil {
			t.Fatal("the losing commit was accepted")
		}
		w.check(nil, 0)
		if err := a.MergePendingCommit(); err == nil {
			t.Fatal("merged a discarded commit")
		}
		// Explicit discard and merge.
		if _, err := a.SelfUpdate(); err != nil {
			t.Fatal(err)
		}
		a.DiscardPendingCommit()
		out, err := a.SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		if err := a.MergePendingCommit(); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"c1", "c2"} {
			if _, err := w.members[n].ProcessMessage(out.Commit); err != nil {
				t.Fatal(err)
			}
		}
		w.check(nil, 0)
	})
}

// TestCommitByReference commits proposals of several members by reference,
// including conflicting ones the committer must resolve.
func TestCommitByReference(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 4)
		c1, c2, c3 := w.members["c1"], w.members["c2"], w.members["c3"]
		u, err := c1.ProposeUpdate()
		if err != nil {
			t.Fatal(err)
		}
		w.propose("c1", u)
		// c2 proposes to remove c1: the Remove wins over c1's Update.
		rm, err := c2.ProposeRemove(c1.OwnLeaf())
		if err != nil {
			t.Fatal(err)
		}
		w.propose("c2", rm)
		u3, err := c3.ProposeUpdate()
		if err != nil {
			t.Fatal(err)
		}
		w.propose("c3", u3)
		newcomer := newBundle(t, cs, "c9")
		add, err := c3.ProposeAdd(&newcomer.KeyPackage)
		if err != nil {
			t.Fatal(err)
		}
		w.propose("c3", add)
		out, err := w.members["c0"].Commit(nil)
		if err != nil {
			t.Fatal(err)
		}
		// The delivery service echoes proposals to their senders: accepted as known.
		for _, p := range [][]byte{u3, add} {
			if r, err := c3.ProcessMessage(p); err != nil || r.Kind != KindProposal {
				t.Fatalf("own proposal echoed: %v", err)
			}
		}
		w.deliver("c0", out, map[string]*KeyPackageBundle{"c9": newcomer})
		if _, ok := w.removed["c1"]; !ok {
			t.Fatal("c1 was not removed")
		}
		w.check(nil, 0)
	})
}

// TestPSKsAndGroupContextExtensions commits external and resumption PSKs
// and new group context extensions through the API.
func TestPSKsAndGroupContextExtensions(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		cfg := &Config{PSKs: map[string][]byte{"shared": []byte("a secret agreed elsewhere")}}
		w := newWorld(t, cs, cfg)
		w.add("c0", 2)
		nonce := func() []byte {
			n := make([]byte, cs.HashLen())
			n[0] = byte(w.members["c0"].Epoch())
			return n
		}
		c0 := w.members["c0"]
		w.commit("c0", nil)
		w.commit("c1", &CommitOptions{PSKs: []PreSharedKeyID{
			{Type: PSKExternal, PSKID: []byte("shared"), Nonce: nonce()},
			{Type: PSKResumption, Usage: ResumptionApplication, PSKGroupID: c0.GroupID(), PSKEpoch: c0.Epoch() - 1, Nonce: nonce()},
			{Type: PSKResumption, Usage: ResumptionApplication, PSKGroupID: c0.GroupID(), PSKEpoch: c0.Epoch(), Nonce: nonce()},
		}})
		w.check(nil, 0)
		if _, err := w.members["c1"].Commit(&CommitOptions{PSKs: []PreSharedKeyID{{Type: PSKExternal, PSKID: []byte("unknown"), Nonce: nonce()}}}); !errors.Is(err, ErrUnknownPSK) {
			t.Fatalf("committed an unknown PSK: %v", err)
		}
		// A proposal by reference of a PSK, and an add of a member in the same commit.
		msg, err := w.members["c2"].propose(&Proposal{Type: ProposalPSK, PSK: &PreSharedKeyID{Type: PSKExternal, PSKID: []byte("shared"), Nonce: nonce()}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.propose("c2", msg)
		w.add("c0", 1)
		w.check(nil, 0)

		// Require an extension type nobody supports: refused. Require Basic
		// credentials: accepted, and from then on a KeyPackage that lacks a
		// required capability cannot be added.
		rc := func(ext ...ExtensionType) []Extension {
			data, err := Marshal(&RequiredCapabilities{Extensions: ext, Proposals: []ProposalType{}, Credentials: []CredentialType{CredentialBasic}})
			if err != nil {
				t.Fatal(err)
			}
			return []Extension{{Type: ExtensionRequiredCapabilities, Data: data}}
		}
		if _, err := w.members["c1"].Commit(&CommitOptions{GroupContextExtensions: rc(0xff01)}); !errors.Is(err, ErrCapabilities) {
			t.Fatalf("required an unsupported extension: %v", err)
		}
		w.commit("c1", &CommitOptions{GroupContextExtensions: rc()})
		w.check(nil, 0)
		if got := w.members["c2"].Context().Extensions; len(got) != 1 || got[0].Type != ExtensionRequiredCapabilities {
			t.Fatalf("group context extensions %v", got)
		}
		// In a group whose members support extension 0xff01, requiring it
		// works, and a KeyPackage without it can no longer be added.
		withExt := func(name string) *KeyPackageBundle {
			kpb, err := NewKeyPackage(cs, KeyPackageParams{Identity: []byte(name), LeafExtensions: []Extension{{Type: 0xff01, Data: []byte{}}}})
			if err != nil {
				t.Fatal(err)
			}
			return kpb
		}
		a, err := NewGroup(cs, []byte("ext"), withExt("a"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := withExt("b")
		if _, err := a.AddMembers(&b.KeyPackage); err != nil {
			t.Fatal(err)
		}
		if err := a.MergePendingCommit(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Commit(&CommitOptions{GroupContextExtensions: rc(0xff01)}); err != nil {
			t.Fatal(err)
		}
		if err := a.MergePendingCommit(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.AddMembers(&newBundle(t, cs, "plain").KeyPackage); !errors.Is(err, ErrCapabilities) {
			t.Fatalf("added a member without a required extension: %v", err)
		}
		if _, err := a.AddMembers(&withExt("c").KeyPackage); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPendingExportIsTheNextEpochs checks that the committer can export
// from the epoch its pending commit creates before merging, that the value
// is what every member exports once in that epoch, and that asking changes
// nothing: the commit still merges, or is still discarded when another
// wins.
func TestPendingExportIsTheNextEpochs(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 2)
		a := w.members["c0"]
		if _, err := a.PendingExport("l", nil, 32); !errors.Is(err, ErrPendingCommit) {
			t.Fatalf("PendingExport without a pending commit: %v, want ErrPendingCommit", err)
		}
		now, err := a.Export("l", []byte("ctx"), 32)
		if err != nil {
			t.Fatal(err)
		}
		out, err := a.SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		next, err := a.PendingExport("l", []byte("ctx"), 32)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(next, now) {
			t.Fatal("the pending epoch exports what the current one does")
		}
		if again, _ := a.Export("l", []byte("ctx"), 32); !bytes.Equal(again, now) || a.Epoch() != 1 {
			t.Fatal("PendingExport changed the current epoch")
		}
		w.deliver("c0", out, nil)
		for _, n := range w.names() {
			got, err := w.members[n].Export("l", []byte("ctx"), 32)
			if err != nil || !bytes.Equal(got, next) {
				t.Fatalf("%s exports %x in the new epoch (%v), the committer predicted %x", n, got, err, next)
			}
		}
		w.check(nil, 0)
	})
}
