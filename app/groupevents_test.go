package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chatdb"
)

// systemLines returns the system lines of conv, domains cut.
func (c *chatter) systemLines(conv chatdb.ConvID) []string {
	c.t.Helper()
	ms, err := c.e.History(conv, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.System {
			out = append(out, cutDomains(m.Text))
		}
	}
	return out
}

// lines returns every line of conv, system lines in brackets, domains cut.
func (c *chatter) lines(conv chatdb.ConvID) []string {
	c.t.Helper()
	ms, err := c.e.History(conv, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.System {
			out = append(out, "["+cutDomains(m.Text)+"]")
		} else {
			out = append(out, strings.SplitN(m.From, "@", 2)[0]+": "+m.Text)
		}
	}
	return out
}

func cutDomains(s string) string {
	f := strings.Fields(s)
	for i, w := range f {
		if at := strings.IndexByte(w, '@'); at > 0 {
			f[i] = w[:at]
		}
	}
	return strings.Join(f, " ")
}

// Issue 24: after bob's /leave the others read "bob was removed by you",
// and "bob joined" appeared before bob had run /join. Now the add says
// who added him, "joined" comes with his first word in the group, and a
// member who leaves is said to have left, whoever committed it.
func TestGroupEventsSayWhatHappened(t *testing.T) {
	n := start(t, testConfig(t))
	alice, bob, carol := newChatter(t, n, "alice"), newChatter(t, n, "bob"), newChatter(t, n, "carol")
	ctx := ctxT(t)
	g, err := alice.e.CreateGroup(ctx, "club")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob", "carol"} {
		if err := alice.e.Invite(ctx, g.ID, who); err != nil {
			t.Fatal(err)
		}
	}
	bob.sync()
	carol.sync()
	if got := alice.systemLines(g.ID); !slices.Contains(got, "bob was added by you") || !slices.Contains(got, "carol was added by you") ||
		slices.ContainsFunc(got, func(l string) bool { return strings.Contains(l, "joined") }) {
		t.Fatalf("alice after inviting, before anyone joined: %q", got)
	}
	if got := bob.systemLines(bob.find("#club").ID); !slices.Contains(got, "carol was added by alice") {
		t.Fatalf("bob, invited before carol: %q", got)
	}

	// Bob joins and writes: alice and carol learn that he is in.
	if err := bob.e.Join(ctx, bob.find("#club").ID); err != nil {
		t.Fatal(err)
	}
	bob.send(bob.find("#club").ID, "hi all")
	alice.sync()
	if got := alice.lines(g.ID); !containsInOrder(got, "[bob joined]", "bob: hi all") {
		t.Fatalf("alice after bob wrote: %q", got)
	}
	bob.send(bob.find("#club").ID, "again")
	alice.sync()
	if got := alice.systemLines(g.ID); countOf(got, "bob joined") != 1 {
		t.Fatalf("bob joined more than once: %q", got)
	}
	if err := carol.e.Join(ctx, carol.find("#club").ID); err != nil {
		t.Fatal(err)
	}
	carol.sync()

	// Bob leaves: alice, the lowest leaf, commits his proposal.
	if err := bob.e.Leave(ctx, bob.find("#club").ID); err != nil {
		t.Fatal(err)
	}
	alice.sync() // handles the proposal and commits it
	carol.sync()
	for _, m := range []*chatter{alice, carol} {
		got := m.systemLines(m.find("#club").ID)
		if !slices.Contains(got, "bob left") || slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "bob was removed") }) {
			t.Fatalf("%s after bob's /leave: %q", m.a.Address(), got)
		}
	}

	// Alice removes carol: that is a removal.
	if err := alice.e.Remove(ctx, g.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	if got := alice.systemLines(g.ID); !slices.Contains(got, "carol was removed by you") {
		t.Fatalf("alice after removing carol: %q", got)
	}
}

func containsInOrder(lines []string, want ...string) bool {
	i := 0
	for _, l := range lines {
		if i < len(want) && l == want[i] {
			i++
		}
	}
	return i == len(want)
}

func countOf(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if l == s {
			n++
		}
	}
	return n
}
