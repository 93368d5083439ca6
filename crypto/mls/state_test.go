package mls

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestPersistedGroupContinuesIdentically reloads members from their
// serialized state at awkward moments (cached proposals, a pending commit,
// unread late messages) and checks that a reloaded copy processing the same
// messages as the original ends in the same state with the same results,
// and that reloaded members go on sending and committing.
func TestPersistedGroupContinuesIdentically(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		rng := rand.New(rand.NewPCG(7, 7))
		w := newWorld(t, cs, nil)
		w.add("c0", 4)
		w.commit("c2", nil)
		w.commit("c3", &CommitOptions{Remove: []LeafIndex{w.members["c4"].OwnLeaf()}})
		w.add("c1", 1)
		// c1 has an unread message from an earlier epoch and a cached proposal.
		sender := w.names()[0]
		if sender == "c1" {
			sender = w.names()[1]
		}
		late, err := w.members[sender].Encrypt([]byte("late"), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.commit(sender, nil)
		c1 := w.members["c1"]
		if c1 == nil {
			t.Fatal("c1 was removed by the random steps; pick another seed")
		}
		upd, err := w.members[sender].ProposeUpdate()
		if err != nil {
			t.Fatal(err)
		}
		w.propose(sender, upd)

		orig := w.reload("c1")
		w.shadows["c1"] = orig
		r, err := w.members["c1"].ProcessMessage(late)
		if err != nil || string(r.ApplicationData) != "late" {
			t.Fatalf("reloaded member lost a late message: %v", err)
		}
		w.mirror("c1", late, r)

		// The original keeps processing next to the reloaded copy.
		for range 6 {
			if w.members["c1"] == nil {
				break
			}
			w.randomStep(rng, 6)
			w.check(rng, 0)
		}
		if w.members["c1"] != nil {
			a, b := w.members["c1"], w.shadows["c1"]
			ea, _ := a.Export("x", []byte("y"), 16)
			eb, _ := b.Export("x", []byte("y"), 16)
			if !bytes.Equal(ea, eb) || !bytes.Equal(a.EpochAuthenticator(), b.EpochAuthenticator()) {
				t.Fatal("reloaded member diverged")
			}
		}
		t.Logf("reloaded and original member compared on %d messages", w.mirrored)
		if w.mirrored < 20 {
			t.Fatalf("only %d messages compared", w.mirrored)
		}
		clear(w.shadows)

		// A pending commit survives a reload and merges when echoed.
		committer := w.names()[0]
		out, err := w.members[committer].SelfUpdate()
		if err != nil {
			t.Fatal(err)
		}
		w.reload(committer)
		if !w.members[committer].HasPendingCommit() {
			t.Fatal("pending commit lost in the reload")
		}
		w.deliver(committer, out, nil)
		// Every member reloaded, then the group goes on.
		for _, n := range w.names() {
			w.reload(n)
		}
		for range 4 {
			w.randomStep(rng, 6)
			w.check(rng, 0)
		}
	})
}

func TestLoadGroupRejections(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 2)
		state := mustState(t, w.members["c1"])
		withVersion := func(v uint16) []byte {
			b := bytes.Clone(state)
			binary.BigEndian.PutUint16(b[4:], v)
			return b
		}
		for _, tc := range []struct {
			name string
			data []byte
			want error
		}{
			{"a newer version is unknown", withVersion(stateVersion + 1), ErrStateVersion},
			{"version zero is too old", withVersion(0), ErrStateTooOld},
			{"another magic is refused", append([]byte("XMLS"), state[4:]...), ErrState},
			{"a truncated state is refused", state[:len(state)-1], ErrState},
			{"trailing bytes are refused", append(bytes.Clone(state), 0), ErrState},
			{"an empty input is refused", nil, ErrState},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := LoadGroup(tc.data, nil); !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
		// Flipping any single byte of the tree hash or a secret must not give
		// a group that silently differs: either the load fails or the state
		// re-encodes to the flipped input.
		for i := range state {
			b := bytes.Clone(state)
			b[i] ^= 0x01
			g, err := LoadGroup(b, nil)
			if err != nil {
				continue
			}
			if again, err := g.MarshalState(); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("byte %d: loaded state does not re-encode to its input", i)
			}
		}
	})
}

// FuzzGroupState feeds arbitrary bytes to LoadGroup: it must not panic, and
// whatever it accepts must re-encode to the same bytes.
func FuzzGroupState(f *testing.F) {
	for _, cs := range []CipherSuite{suite1, suitePQ} {
		seedGroupStates(f, cs)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := LoadGroup(data, nil)
		if err != nil {
			if !errors.Is(err, ErrState) && !errors.Is(err, ErrStateVersion) && !errors.Is(err, ErrStateTooOld) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := g.MarshalState()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted state does not re-encode to itself: %v", err)
		}
	})
}

// seedGroupStates adds states of a member of a group in suite cs at several
// points of its life.
func seedGroupStates(f *testing.F, cs CipherSuite) {
	w := newWorld(f, cs, nil)
	w.add("c0", 3)
	g := w.members["c1"]
	msg, err := w.members["c2"].Encrypt([]byte("m"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustState(f, g))
	w.commit("c0", nil)
	f.Add(mustState(f, g))
	if _, err := g.ProcessMessage(msg); err != nil {
		f.Fatal(err)
	}
	upd, err := w.members["c2"].ProposeUpdate()
	if err != nil {
		f.Fatal(err)
	}
	w.propose("c2", upd)
	f.Add(mustState(f, g))
	if _, err := g.SelfUpdate(); err != nil {
		f.Fatal(err)
	}
	f.Add(mustState(f, g))
}
