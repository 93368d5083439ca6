package mls

import "testing"

// PendingRemovals names who proposed whose removal until a commit takes
// them: a member's own proposal to leave and another's to remove it.
func TestPendingRemovalsNameTheProposerUntilACommit(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		w := newWorld(t, cs, nil)
		w.add("c0", 4)
		c0, c1, c2, c3 := w.members["c0"], w.members["c1"], w.members["c2"], w.members["c3"]
		leave, err := c1.ProposeRemove(c1.OwnLeaf())
		if err != nil {
			t.Fatal(err)
		}
		w.propose("c1", leave)
		rm, err := c2.ProposeRemove(c3.OwnLeaf())
		if err != nil {
			t.Fatal(err)
		}
		w.propose("c2", rm)
		got := c0.PendingRemovals()
		want := []PendingRemoval{{Sender: c1.OwnLeaf(), Removed: c1.OwnLeaf()}, {Sender: c2.OwnLeaf(), Removed: c3.OwnLeaf()}}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("PendingRemovals = %v, want %v", got, want)
		}
		out, err := c0.Commit(nil)
		if err != nil {
			t.Fatal(err)
		}
		w.deliver("c0", out, nil)
		if got := c0.PendingRemovals(); len(got) != 0 {
			t.Fatalf("after the commit: %v", got)
		}
	})
}
