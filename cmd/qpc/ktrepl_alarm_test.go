package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
)

// TestTheReplShowsKeyTransparencyAlarmsMadeSafe: alice's REPL runs while
// someone publishes keys of their own for her account and her node's
// store is given evidence whose reporter's name carries a terminal escape
// (a node's words are not to be trusted: the attacker with the router's
// flash writes what it likes). When the REPL reconnects to the restarted
// node, it shows both alarms above the prompt, the escape inert (the
// screen is not cleared, the bytes after ESC stay visible), and `qpc
// status --json` lists them under "alarms" with the node's words exact.
func TestTheReplShowsKeyTransparencyAlarmsMadeSafe(t *testing.T) {
	t.Parallel()
	needTmux(t)
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	alice := newChanUser(t, p, "alice")
	s := startRepl(t, alice)
	s.expect("/help", "/dm", replWait) // something on the screen the clear would wipe
	if strings.Contains(s.capture(), "ALARM") {
		t.Fatalf("an alarm before anything happened:\n%s", s.capture())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resetKeys(t, ctx, p, "alice")

	stopNode(t, p)
	a, err := ca.New("test community CA", 3*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	first, second := forgedHeads(t, a, "n9.example.mesh")
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const reporter = "evil\x1b[2Jnode"
	if _, err := st.AddKTEvidence(protocol.KTEvidence{First: first, Second: second, Reason: "fork",
		Domain: "n9.example.mesh", ReportedBy: reporter, Found: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	p = startNodeProcIn(t, dataDir, p.addr, qpcBin)

	// The follower reconnects, gossips and checks alice's own entry.
	s.waitFor("that none of your devices made", replWait)
	s.waitFor("[2Jnode proves (both heads checked here) that the key transparency log of n9.example.mesh lied (fork", replWait)
	screen := s.capture()
	t.Logf("the REPL after the reconnect:\n%s", strings.TrimRight(screen, "\n "))
	if !strings.Contains(screen, "qpc: ALARM: the key directory publishes keys for your account alice@"+domain1) {
		t.Errorf("the foreign key's alarm is not on the screen:\n%s", screen)
	}
	if !strings.Contains(screen, "/dm") {
		t.Errorf("the screen was cleared: the node's escape reached the terminal:\n%s", screen)
	}
	if !strings.HasSuffix(s.lastLine(), " >") {
		t.Errorf("the prompt is not below the alarms: %q", s.lastLine())
	}

	got := statusAlarms(t, p, alice.state)
	kinds := map[string]string{}
	for _, al := range got {
		kinds[al.Kind] = al.Text
		if al.Account != "alice@"+domain1 {
			t.Errorf("an alarm of account %q", al.Account)
		}
	}
	if !strings.Contains(kinds["foreign_key"], "none of your devices made") || !strings.Contains(kinds["evidence"], "node "+reporter+" proves") {
		t.Errorf("qpc status --json alarms: %+v", got)
	}
}
