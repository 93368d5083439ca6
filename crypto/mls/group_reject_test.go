package mls

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// mustState serializes g, failing the test on error.
func mustState(tb testing.TB, g *Group) []byte {
	tb.Helper()
	b, err := g.MarshalState()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// expectRejected processes msg at g and checks the error and that g's
// state did not change.
func expectRejected(t *testing.T, g *Group, msg []byte, want error) {
	t.Helper()
	before := mustState(t, g)
	_, err := g.ProcessMessage(msg)
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
	if !bytes.Equal(before, mustState(t, g)) {
		t.Fatal("a rejected message changed the group state")
	}
}

// tamperPublic decodes a PublicMessage, lets edit change it and re-encodes it.
func tamperPublic(t *testing.T, msg []byte, edit func(pm *PublicMessage)) []byte {
	t.Helper()
	var m MLSMessage
	if err := Unmarshal(msg, &m); err != nil {
		t.Fatal(err)
	}
	edit(m.PublicMessage)
	b, err := Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommitFromNonMemberIsRejected(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 3)
		// c3 is removed; afterwards it commits from the epoch it still knows.
		w.commit("c0", &CommitOptions{Remove: []LeafIndex{w.members["c3"].OwnLeaf()}})
		stale := w.removed["c3"][0]
		out, err := stale.SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		expectRejected(t, w.members["c1"], out.Commit, ErrWrongEpoch)

		// A commit of the current epoch claiming a leaf that is blank or outside the tree.
		out, err = w.members["c2"].SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		for _, leaf := range []uint32{uint32(stale.OwnLeaf()), 1000} {
			forged := tamperPublic(t, out.Commit, func(pm *PublicMessage) { pm.Content.Sender.Index = leaf })
			expectRejected(t, w.members["c1"], forged, ErrNotMember)
		}
		// External senders and external commits are not supported.
		for _, st := range []SenderType{SenderExternal, SenderNewMemberCommit} {
			forged := tamperPublic(t, out.Commit, func(pm *PublicMessage) { pm.Content.Sender.Type = st })
			expectRejected(t, w.members["c1"], forged, ErrSenderType)
		}
		// An outsider's group cannot produce a valid membership tag for ours.
		outsider, err := NewGroup(cs, []byte("world"), newBundle(t, cs, "mallory"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for outsider.Epoch() < w.members["c1"].Epoch() {
			if _, err := outsider.SelfUpdate(); err != nil {
				t.Fatal(err)
			}
			if err := outsider.MergePendingCommit(); err != nil {
				t.Fatal(err)
			}
		}
		evil, err := outsider.SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		expectRejected(t, w.members["c1"], evil.Commit, ErrBadMembershipTag)
		// A bit flipped in the confirmation tag.
		bad := tamperPublic(t, out.Commit, func(pm *PublicMessage) { pm.Auth.ConfirmationTag[0] ^= 1 })
		expectRejected(t, w.members["c1"], bad, ErrBadMembershipTag)
		w.deliver("c2", out, nil)
		w.check(nil, 0)
	})
}

func TestReplayedApplicationMessageIsRejected(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 1)
		msg, err := w.members["c0"].Encrypt([]byte("once"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.members["c1"].ProcessMessage(msg); err != nil {
			t.Fatal(err)
		}
		expectRejected(t, w.members["c1"], msg, ErrGenerationConsumed)
		// Our own messages come back from the delivery service too.
		expectRejected(t, w.members["c0"], msg, ErrOwnMessage)
	})
}

func TestWelcomeForAnotherKeyPackageIsRejected(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		a, err := NewGroup(cs, []byte("g"), newBundle(t, cs, "a"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, c := newBundle(t, cs, "b"), newBundle(t, cs, "c")
		out, err := a.AddMembers(&b.KeyPackage)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := JoinGroup(out.Welcome, c, nil, nil); !errors.Is(err, ErrNoGroupSecrets) {
			t.Fatalf("joined with a KeyPackage the Welcome is not for: %v", err)
		}
		// The right KeyPackage reference with the wrong private keys.
		wrong := *b
		wrong.InitPriv = c.InitPriv
		if _, err := JoinGroup(out.Welcome, &wrong, nil, nil); !errors.Is(err, ErrDecryption) {
			t.Fatalf("joined with the wrong init key: %v", err)
		}
		if _, err := JoinGroup(out.Commit, b, nil, nil); !errors.Is(err, ErrWireFormat) {
			t.Fatalf("joined from a commit: %v", err)
		}
	})
}

func TestPastEpochsWithinTheRetentionWindow(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		for _, keep := range []int{0, 1, 5, -1} {
			cfg := &Config{PastEpochs: keep}
			want := cfg.withDefaults().PastEpochs
			w := newWorld(t, cs, cfg)
			w.add("c0", 1)
			a, b := w.members["c0"], w.members["c1"]
			// One late message from each of the next epochs, delivered only
			// after the group moved on.
			var late [][]byte
			for range want + 2 {
				msg, err := a.Encrypt([]byte("late"), nil)
				if err != nil {
					t.Fatal(err)
				}
				late = append(late, msg)
				w.commit("c0", nil)
			}
			for i, msg := range late {
				age := len(late) - i // epochs between the message and now
				if age <= want {
					r, err := b.ProcessMessage(msg)
					if err != nil || !bytes.Equal(r.ApplicationData, []byte("late")) || string(r.Credential.Identity) != "c0" {
						t.Fatalf("keep %d: message %d epochs old: %v", keep, age, err)
					}
					continue
				}
				expectRejected(t, b, msg, ErrEpochTooOld)
			}
		}
	})
}

func TestRejectedCommitsLeaveStateUnchanged(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 2)
		c0, c1, c2 := w.members["c0"], w.members["c1"], w.members["c2"]
		// c2's Update reaches c0 but not yet c1: c1 cannot resolve the reference.
		upd, err := c2.ProposeUpdate()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c0.ProcessMessage(upd); err != nil {
			t.Fatal(err)
		}
		// A proposal to remove the committer is left out by the committer.
		rm, err := c2.ProposeRemove(c0.OwnLeaf())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c0.ProcessMessage(rm); err != nil {
			t.Fatal(err)
		}
		out, err := c0.Commit(nil)
		if err != nil {
			t.Fatal(err)
		}
		expectRejected(t, c1, out.Commit, ErrUnknownProposal)
		// Garbage and messages for other groups or epochs.
		expectRejected(t, c1, []byte{0, 1, 0, 1, 0x05}, ErrTruncated)
		wrongGroup := tamperPublic(t, out.Commit, func(pm *PublicMessage) { pm.Content.GroupID = []byte("other") })
		expectRejected(t, c1, wrongGroup, ErrWrongGroup)
		future := tamperPublic(t, out.Commit, func(pm *PublicMessage) { pm.Content.Epoch++ })
		expectRejected(t, c1, future, ErrWrongEpoch)
		// Once c1 has the proposals, the same commit is accepted.
		for _, p := range [][]byte{upd, rm} {
			if _, err := c1.ProcessMessage(p); err != nil {
				t.Fatal(err)
			}
		}
		w.deliver("c0", out, nil)
		if len(w.members) != 3 {
			t.Fatalf("%d members after a commit that should only update", len(w.members))
		}
		w.check(nil, 0)
	})
}

func TestKeyPackageValidation(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		now := time.Unix(1_800_000_000, 0)
		fresh := func() *KeyPackageBundle {
			kpb, err := NewKeyPackage(cs, KeyPackageParams{Identity: []byte("k"), Now: now, Lifetime: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			return kpb
		}
		resign := func(kpb *KeyPackageBundle) {
			if err := kpb.KeyPackage.LeafNode.Sign(cs, kpb.SignaturePriv, nil, 0); err != nil {
				t.Fatal(err)
			}
			if err := kpb.KeyPackage.Sign(cs, kpb.SignaturePriv); err != nil {
				t.Fatal(err)
			}
		}
		kpb := fresh()
		kp := &kpb.KeyPackage
		if err := kp.Validate(cs, now); err != nil {
			t.Fatalf("fresh key package: %v", err)
		}
		leaf := &kp.LeafNode
		switch {
		case bytes.Equal(kp.InitKey, leaf.EncryptionKey):
			t.Error("init key equals the leaf key")
		case leaf.Credential.Type != CredentialBasic || string(leaf.Credential.Identity) != "k":
			t.Errorf("credential %+v", leaf.Credential)
		case leaf.Lifetime == nil || leaf.Lifetime.NotBefore > uint64(now.Unix()) || leaf.Lifetime.NotAfter != uint64(now.Add(time.Hour).Unix()):
			t.Errorf("lifetime %+v", leaf.Lifetime)
		case !slices.Contains(leaf.Capabilities.CipherSuites, cs.ID()) || !slices.Contains(leaf.Capabilities.Versions, ProtocolVersionMLS10):
			t.Errorf("capabilities %+v", leaf.Capabilities)
		}
		if pub, err := cs.HPKEPublicKey(kpb.InitPriv); err != nil || !bytes.Equal(pub, kp.InitKey) {
			t.Error("init private key does not match")
		}
		if pub, err := cs.HPKEPublicKey(kpb.EncryptionPriv); err != nil || !bytes.Equal(pub, leaf.EncryptionKey) {
			t.Error("encryption private key does not match")
		}
		for _, tc := range []struct {
			name string
			edit func(*KeyPackageBundle)
			at   time.Time
			want error
		}{
			{"an expired key package is refused", func(*KeyPackageBundle) {}, now.Add(2 * time.Hour), ErrLifetime},
			{"a key package from the future is refused", func(*KeyPackageBundle) {}, now.Add(-2 * time.Hour), ErrLifetime},
			{"an init key equal to the leaf key is refused", func(k *KeyPackageBundle) {
				k.KeyPackage.InitKey = k.KeyPackage.LeafNode.EncryptionKey
				resign(k)
			}, now, ErrKeyPackage},
			{"another cipher suite is refused", func(k *KeyPackageBundle) { k.KeyPackage.CipherSuite = 2; resign(k) }, now, ErrKeyPackage},
			{"another version is refused", func(k *KeyPackageBundle) { k.KeyPackage.Version = 2; resign(k) }, now, ErrKeyPackage},
			{"a bad signature is refused", func(k *KeyPackageBundle) { k.KeyPackage.Signature[0] ^= 1 }, now, ErrBadSignature},
			{"a bad leaf signature is refused", func(k *KeyPackageBundle) {
				k.KeyPackage.LeafNode.Signature[0] ^= 1
				if err := k.KeyPackage.Sign(cs, k.SignaturePriv); err != nil {
					t.Fatal(err)
				}
			}, now, ErrBadSignature},
			{"an update leaf is refused", func(k *KeyPackageBundle) {
				k.KeyPackage.LeafNode.Source = LeafNodeSourceUpdate
				resign(k)
			}, now, ErrLeafNode},
			{"an unlisted credential type is refused", func(k *KeyPackageBundle) {
				k.KeyPackage.LeafNode.Capabilities.Credentials = []CredentialType{CredentialX509}
				resign(k)
			}, now, ErrCapabilities},
			{"an unlisted leaf extension is refused", func(k *KeyPackageBundle) {
				k.KeyPackage.LeafNode.Extensions = []Extension{{Type: 0xff00, Data: []byte{}}}
				resign(k)
			}, now, ErrCapabilities},
			{"an empty identity is refused", func(k *KeyPackageBundle) {
				k.KeyPackage.LeafNode.Credential.Identity = nil
				resign(k)
			}, now, ErrCredential},
		} {
			t.Run(tc.name, func(t *testing.T) {
				k := fresh()
				tc.edit(k)
				if err := k.KeyPackage.Validate(cs, tc.at); !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
		// A group refuses to add an expired key package and a duplicate member.
		cfg := &Config{Now: func() time.Time { return now.Add(2 * time.Hour) }}
		g, err := NewGroup(cs, []byte("g"), newBundle(t, cs, "a"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		g.cfg = cfg.withDefaults()
		if _, err := g.AddMembers(&fresh().KeyPackage); !errors.Is(err, ErrLifetime) {
			t.Fatalf("added an expired key package: %v", err)
		}
		g.cfg = (&Config{}).withDefaults()
		b := newBundle(t, cs, "b")
		if _, err := g.AddMembers(&b.KeyPackage, &b.KeyPackage); !errors.Is(err, ErrDuplicateKey) {
			t.Fatalf("added the same key package twice: %v", err)
		}
		if g.HasPendingCommit() {
			t.Fatal("a failed commit left a pending commit")
		}
	})
}

// TestCommitWithoutRequiredPathIsRejected strips the path from a commit
// that removes a member and signs it again: receivers must refuse it.
func TestCommitWithoutRequiredPathIsRejected(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 2)
		c0 := w.members["c0"]
		out, err := c0.RemoveMembers(w.members["c2"].OwnLeaf())
		if err != nil {
			t.Fatal(err)
		}
		c0.DiscardPendingCommit()
		var m MLSMessage
		if err := Unmarshal(out.Commit, &m); err != nil {
			t.Fatal(err)
		}
		fc := m.PublicMessage.Content
		fc.Commit.Path = nil
		_, stripped, err := c0.publicMessage(fc, m.PublicMessage.Auth.ConfirmationTag)
		if err != nil {
			t.Fatal(err)
		}
		expectRejected(t, w.members["c1"], stripped, ErrPathRequired)
		// An empty commit needs a path too.
		fc.Commit.Proposals = []ProposalOrRef{}
		_, empty, err := c0.publicMessage(fc, m.PublicMessage.Auth.ConfirmationTag)
		if err != nil {
			t.Fatal(err)
		}
		expectRejected(t, w.members["c1"], empty, ErrPathRequired)
		// And the confirmation tag binds the rest: a re-signed commit with the
		// path but another tag is refused.
		if err := Unmarshal(out.Commit, &m); err != nil {
			t.Fatal(err)
		}
		fc = m.PublicMessage.Content
		tag := bytes.Clone(m.PublicMessage.Auth.ConfirmationTag)
		tag[0] ^= 1
		_, badTag, err := c0.publicMessage(fc, tag)
		if err != nil {
			t.Fatal(err)
		}
		expectRejected(t, w.members["c1"], badTag, ErrBadConfirmationTag)
	})
}

// FuzzProcessMessage feeds arbitrary messages to a member of a small group:
// no input may panic, and a rejected one must leave the state unchanged.
func FuzzProcessMessage(f *testing.F) { fuzzProcessMessage(f, suite1) }

// FuzzProcessMessagePQ is FuzzProcessMessage in the post-quantum suite, whose
// commits carry X-Wing ciphertexts in their UpdatePaths and Welcomes.
func FuzzProcessMessagePQ(f *testing.F) { fuzzProcessMessage(f, suitePQ) }

func fuzzProcessMessage(f *testing.F, cs CipherSuite) {
	w := newWorld(f, cs, nil)
	w.add("c0", 2)
	c1 := w.members["c1"]
	state := mustState(f, c1)
	upd, err := w.members["c2"].ProposeUpdate()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(upd)
	app, err := w.members["c2"].Encrypt([]byte("hello"), []byte("aad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(app)
	for _, opts := range []*CommitOptions{nil, {Remove: []LeafIndex{w.members["c2"].OwnLeaf()}}, {Add: []*KeyPackage{&newBundle(f, cs, "x").KeyPackage}}} {
		out, err := w.members["c0"].Commit(opts)
		if err != nil {
			f.Fatal(err)
		}
		w.members["c0"].DiscardPendingCommit()
		f.Add(out.Commit)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := LoadGroup(state, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.ProcessMessage(data); err != nil {
			if !bytes.Equal(mustState(t, g), state) {
				t.Fatalf("rejected message (%v) changed the state", err)
			}
		}
	})
}
