package main

// Issue 23's scenario "a node whose store is modified behind its back",
// whole and across federation, with real `qpc node` processes: alice
// lives on n1, bob on n2, and n3 is linked to n2 only. bob writes to
// alice, so his client holds n1's head. n1 is stopped and its store
// rewritten to serve mallory's keys as alice's with a log to match (a
// head of the size bob holds with another root); restarted, n1 links to
// n2 again. bob's next send to alice is refused and says why; n2 holds
// the fork as evidence (from n1's own gossip and the answer it relays to
// bob), bob is alarmed, the evidence reaches n3 by federation gossip,
// and `qpc status` shows it on n2 and n3.

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/node/store"
)

// stopFedNode ends n with SIGTERM, as an admin stops a router's node,
// and waits for it.
func stopFedNode(t *testing.T, n *fedNode) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-n.done:
		n.done <- err // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not stop; logs:\n%s", n.domain, n.Logs())
	}
}

// statusKT is the key transparency part of `qpc status --json`.
type statusKT struct {
	KT struct {
		Size     *uint64 `json:"size"`
		Evidence []struct {
			Domain     string `json:"domain"`
			Reason     string `json:"reason"`
			ReportedBy string `json:"reported_by"`
		} `json:"evidence"`
	} `json:"key_transparency"`
}

// waitEvidence polls `qpc status --json` on n until it lists evidence
// against domain, and returns what it said then.
func waitEvidence(t *testing.T, n *fedNode, domain string, within time.Duration) statusKT {
	t.Helper()
	return waitEvidenceOf(t, n, domain, "", within)
}

// waitEvidenceOf is waitEvidence for evidence of reason (any when empty).
func waitEvidenceOf(t *testing.T, n *fedNode, domain, reason string, within time.Duration) statusKT {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, stdout, stderr := runQPC("status", "--server", n.addr, "--pin", n.fp, "--json")
		if code != exitOK {
			t.Fatalf("qpc status on %s: exit %d, %s", n.domain, code, stderr)
		}
		var s statusKT
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatalf("qpc status --json on %s: %v\n%s", n.domain, err, stdout)
		}
		for _, e := range s.KT.Evidence {
			if e.Domain == domain && (reason == "" || e.Reason == reason) {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("qpc status on %s shows no evidence against %s (%q) within %s:\n%s\nlogs:\n%s", n.domain, domain, reason, within, stdout, n.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestARewrittenLogOnOneNodeIsRefusedByBobOnAnotherAndItsEvidenceCrossesTheFederation(t *testing.T) {
	t.Parallel()
	const d1, d2, d3 = "n1.example.mesh", "n2.example.mesh", "n3.example.mesh"
	a, err := ca.New("test community CA", 3*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	flags := federationFlagsOf(t, a, d1, d2, d3)
	for d := range flags {
		flags[d] = append(flags[d], "--kt-gossip-interval", gossipInterval.String())
	}
	n2 := startFedNode(t, d2, t.TempDir(), "127.0.0.1:0", flags[d2]...)
	n3 := startFedNode(t, d3, t.TempDir(), "127.0.0.1:0", append(flags[d3], "--peer", n2.addr)...)
	dir1 := t.TempDir()
	n1flags := append(flags[d1], "--peer", n2.addr)
	n1 := startFedNode(t, d1, dir1, "127.0.0.1:0", n1flags...)
	for _, n := range []*fedNode{n1, n3} {
		if _, ok := linkEvent(t, n.logProc, 0, 30*time.Second, "federation link up", d2); !ok {
			t.Fatalf("%s did not link to n2; logs:\n%s", n.domain, n.Logs())
		}
	}
	alice := newCLIUser(t, "alice", plainCommand)
	mallory := newCLIUser(t, "mallory", plainCommand)
	bob := newCLIUser(t, "bob", plainCommand)
	alice.mustRun("register", "--server", n1.addr, "--pin", n1.fp, "--username", "alice")
	mallory.mustRun("register", "--server", n1.addr, "--pin", n1.fp, "--username", "mallory")
	bob.mustRun("register", "--server", n2.addr, "--pin", n2.fp, "--username", "bob")

	// bob's client checks alice's keys against n1's log and keeps n1's
	// head; n2, which relays the answer, remembers the head too.
	bob.send("alice@"+d1, "before the rewrite")
	expectOne(t, alice.recv(), "bob@"+d2, "before the rewrite")
	if code, stdout, _ := runQPC("status", "--server", n2.addr, "--pin", n2.fp, "--json"); code != exitOK ||
		!strings.Contains(stdout, `"evidence": []`) {
		t.Fatalf("n2 holds evidence before anything was tampered with: exit %d\n%s", code, stdout)
	}

	// The attacker with n1's flash: alice gets mallory's keys, the log is
	// rewritten to match, and n1 signs a head of the old size with
	// another root when it opens the store.
	stopFedNode(t, n1)
	tamperKeysAndLog(t, dir1, "alice", "mallory")
	mark2 := n2.mark()
	n1 = startFedNode(t, d1, dir1, n1.addr, n1flags...)
	if _, ok := linkEvent(t, n2.logProc, mark2, 60*time.Second, "federation link up", d1); !ok {
		t.Fatalf("n1 did not link to n2 again; n1:\n%s\nn2:\n%s", n1.Logs(), n2.Logs())
	}

	r := bob.run(cliTimeout, "send", "--to", "alice@"+d1, "to the rewritten log")
	if r.code == exitOK || r.stdout != "" || !strings.Contains(r.stderr, "keys of alice@"+d1) || !strings.Contains(r.stderr, "REFUSED") ||
		!strings.Contains(r.stderr, "contradicts what it showed you before") {
		t.Fatalf("bob's send to alice after n1's log was rewritten: %s; want it refused", r)
	}
	// n2 holds the fork of n1's log and tells bob's client as it gossips.
	if !strings.Contains(r.stderr, "ALARM") || !strings.Contains(r.stderr, "log of "+d1+" lied (fork") ||
		!strings.Contains(r.stderr, "both heads checked here") {
		t.Errorf("bob's client showed no alarm of n2's evidence against n1: %q", r.stderr)
	}
	if _, ok := n2.waitLog(10*time.Second, func(rec map[string]any) bool {
		return rec["msg"] == "kt: a key transparency log misbehaves" && rec["domain"] == d1 && rec["level"] == "WARN"
	}); !ok {
		t.Errorf("n2 logged no warning of n1's fork:\n%s", n2.Logs())
	}

	// `qpc status` on n2, and on n3, which reaches n1 only through n2 and
	// learns of the fork by federation gossip (on its link's next
	// exchange: --kt-gossip-interval).
	for _, n := range []*fedNode{n2, n3} {
		s := waitEvidence(t, n, d1, 2*federationGossipWait)
		for _, e := range s.KT.Evidence {
			if e.Domain == d1 && e.Reason != "fork" {
				t.Errorf("%s holds evidence against n1 of reason %q, want fork", n.domain, e.Reason)
			}
		}
		code, out, stderr := runQPC("status", "--server", n.addr, "--pin", n.fp)
		if code != exitOK {
			t.Fatalf("qpc status on %s: exit %d %s", n.domain, code, stderr)
		}
		for _, want := range []string{"WARNING", d1, "fork"} {
			if !strings.Contains(out, want) {
				t.Errorf("qpc status on %s lacks %q:\n%s", n.domain, want, out)
			}
		}
	}

	// Nothing of bob's second send reached alice's queue at n1.
	stopFedNode(t, n1)
	st, err := store.Open(filepath.Join(dir1, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	msgs, err := st.Fetch("alice", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Seq > 1 {
			t.Errorf("a message reached alice's queue at n1 after the rewrite: seq %d", m.Seq)
		}
	}
}

// gossipInterval is the nodes' --kt-gossip-interval in the test above (a
// minute by default), and federationGossipWait how long a link may take
// to exchange heads again: a few intervals, for a loaded machine.
const (
	gossipInterval       = 3 * time.Second
	federationGossipWait = 5 * gossipInterval
)

// TestALogRewrittenAndGrownIsCaughtByTheNextNodesConsistencyCheck is the
// scenario above with a log that grew after the rewrite: n1, rewritten,
// runs unlinked for a while and logs carol, so that the head it gossips
// when it links to n2 again is larger than the one n2 and bob hold. No
// head contradicts another on its own; n2 asks n1 for the consistency
// proof between the two sizes, which fails, and keeps the pair as
// evidence ("inconsistent", its own word: only it checked the proof).
// bob's client refuses n1's log on its own proof and shows n2's report.
func TestALogRewrittenAndGrownIsCaughtByTheNextNodesConsistencyCheck(t *testing.T) {
	t.Parallel()
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	flags := federationFlags(t, d1, d2)
	n2 := startFedNode(t, d2, t.TempDir(), "127.0.0.1:0", flags[d2]...)
	dir1 := t.TempDir()
	n1flags := append(flags[d1], "--peer", n2.addr)
	n1 := startFedNode(t, d1, dir1, "127.0.0.1:0", n1flags...)
	if _, ok := linkEvent(t, n1.logProc, 0, 30*time.Second, "federation link up", d2); !ok {
		t.Fatalf("n1 did not link to n2; logs:\n%s", n1.Logs())
	}
	alice := newCLIUser(t, "alice", plainCommand)
	mallory := newCLIUser(t, "mallory", plainCommand)
	carol := newCLIUser(t, "carol", plainCommand)
	bob := newCLIUser(t, "bob", plainCommand)
	alice.mustRun("register", "--server", n1.addr, "--pin", n1.fp, "--username", "alice")
	mallory.mustRun("register", "--server", n1.addr, "--pin", n1.fp, "--username", "mallory")
	bob.mustRun("register", "--server", n2.addr, "--pin", n2.fp, "--username", "bob")
	bob.send("alice@"+d1, "before the rewrite")

	stopFedNode(t, n1)
	tamperKeysAndLog(t, dir1, "alice", "mallory")
	// Unlinked (no --peer; n2 does not dial n1), the rewritten log grows.
	n1 = startFedNode(t, d1, dir1, n1.addr, flags[d1]...)
	carol.mustRun("register", "--server", n1.addr, "--pin", n1.fp, "--username", "carol")
	stopFedNode(t, n1)
	mark2 := n2.mark()
	n1 = startFedNode(t, d1, dir1, n1.addr, n1flags...)
	if _, ok := linkEvent(t, n2.logProc, mark2, 60*time.Second, "federation link up", d1); !ok {
		t.Fatalf("n1 did not link to n2 again; n1:\n%s\nn2:\n%s", n1.Logs(), n2.Logs())
	}
	// bob's client refuses n1's log on its own consistency proof.
	r := bob.run(cliTimeout, "send", "--to", "alice@"+d1, "to the rewritten log")
	if r.code == exitOK || !strings.Contains(r.stderr, "REFUSED") || !strings.Contains(r.stderr, "contradicts what it showed you before") {
		t.Fatalf("bob's send to alice after n1's log was rewritten and grew: %s; want it refused", r)
	}
	// n2 judged the pair when n1 gossiped on the new link, or, if that
	// came before n2 had the link to ask over, when it relayed n1's
	// answer to bob.
	s := waitEvidenceOf(t, n2, d1, "inconsistent", 30*time.Second)
	own := false
	for _, e := range s.KT.Evidence {
		own = own || e.Domain == d1 && e.Reason == "inconsistent" && e.ReportedBy == d2
	}
	if !own {
		t.Errorf("n2's evidence of n1's inconsistency is not n2's own: %+v", s.KT.Evidence)
	}
	r = bob.run(cliTimeout, "recv")
	if !strings.Contains(r.stderr, "ALARM: node "+d2+" reports that the key transparency log of "+d1+" lied (inconsistent") {
		t.Errorf("bob's client showed no alarm of n2's report: %s", r)
	}
}
