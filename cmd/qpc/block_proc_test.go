package main

// Issue 30's block and report against a real `qpc node` and real `qpc`
// processes (docs/blocking.md): a block on one device reaches the other,
// whose qpc recv and qpc channel recv drop the blocked account; a report
// reaches the node sealed, and opens with the node's report key.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/report"
	"github.com/quicprochat/qpc/datadir"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
)

// channel runs qpc channel sub as user on device, the flags after sub.
func (d *devices) channel(user, device, sub string, args ...string) (string, string, error) {
	d.t.Helper()
	full := []string{"channel", sub, "--password-file", filepath.Join(d.dir, user+".pw"), "--state-dir", filepath.Join(d.dir, device),
		"--server", d.p.addr, "--pin", d.p.fp, "--username", user}
	c := exec.Command(qpcBin, append(full, args...)...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return out.String(), errb.String(), err
}

func (d *devices) mustChannel(user, device, sub string, args ...string) (string, string) {
	d.t.Helper()
	out, errOut, err := d.channel(user, device, sub, args...)
	if err != nil {
		d.t.Fatalf("%s on %s: qpc channel %s %s: %v\n%s%s", user, device, sub, strings.Join(args, " "), err, out, errOut)
	}
	return out, errOut
}

// TestAReportReachesTheAdminSealedAndTheNodeRefusesABlockedSender runs
// one device: a report of a message, sealed on the node, and a block that
// the node's deny list enforces without telling the sender.
// adminMust runs qpc admin args against the node of dataDir.
func (d *devices) adminMust(dataDir string, args ...string) string {
	d.t.Helper()
	c := exec.Command(qpcBin, append(append([]string{"admin"}, args...), "--data-dir", dataDir)...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		d.t.Fatalf("qpc admin %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func TestAReportReachesTheAdminSealedAndTheNodeRefusesABlockedSender(t *testing.T) {
	t.Parallel()
	start := time.Now()
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	d := newDevices(t, p, "alice", "mallory")
	d.must("alice", "laptop", "register", "--name", "laptop")
	d.must("mallory", "mallory", "register")
	mallory := "mallory@" + domain1

	d.must("mallory", "mallory", "send", "--to", "alice", "buy my pills")
	if got := d.recv("alice", "laptop"); len(got) != 1 || got[0].Text != "buy my pills" {
		t.Fatalf("alice read %+v", got)
	}
	// The line's number, as qpc search (and /history) shows it.
	var found struct{ Hits []lineJSON }
	if err := json.Unmarshal([]byte(d.must("alice", "laptop", "search", "pills", "--json")), &found); err != nil || len(found.Hits) != 1 {
		t.Fatalf("qpc search: %+v (%v)", found, err)
	}
	line := strconv.FormatUint(found.Hits[0].Message, 10)
	var rep reportJSON
	if err := json.Unmarshal([]byte(d.must("alice", "laptop", "report", "--conversation", "@mallory", "--message", line, "--note", "spam again", "--json")), &rep); err != nil ||
		rep.Sender != mallory || rep.Text != "buy my pills" || rep.Message != found.Hits[0].Message {
		t.Fatalf("qpc report printed %+v (%v)", rep, err)
	}
	if _, e, err := d.run("alice", "laptop", "report", "--conversation", "@mallory", "--message", "99"); err == nil || !strings.Contains(e, "no message of someone else's with that number") {
		t.Fatalf("reporting a line that is not there: %v %q", err, e)
	}

	var b blockJSON
	if err := json.Unmarshal([]byte(d.must("alice", "laptop", "block", "mallory", "--json")), &b); err != nil ||
		b.Address != mallory || !b.Changed || b.Devices != 0 || b.Node != "done" {
		t.Fatalf("qpc block printed %+v (%v)", b, err)
	}
	// Mallory is not told: her send succeeds; alice gets nothing.
	d.must("mallory", "mallory", "send", "--to", "alice", "refused by the node")
	if got := d.recv("alice", "laptop"); len(got) != 0 {
		t.Fatalf("alice read %+v after the block; the node should have refused it", got)
	}

	// qpc admin reports, on the node's machine, shows it.
	var ar protocol.AdminReports
	if out := d.adminMust(dataDir, "reports", "--json"); json.Unmarshal([]byte(out), &ar) != nil || len(ar.Reports) != 1 ||
		ar.Reports[0].Reporter != "alice@"+domain1 || ar.Reports[0].Sender != mallory || ar.Reports[0].Message != "buy my pills" || ar.Reports[0].Note != "spam again" {
		t.Fatalf("qpc admin reports --json printed %q", out)
	}
	if out := d.adminMust(dataDir, "reports"); !strings.Contains(out, "buy my pills") || !strings.Contains(out, "spam again") {
		t.Fatalf("qpc admin reports printed %q", out)
	}

	// The node keeps the report sealed: no plaintext in its files, and
	// the report key in the data dir opens it.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.done <- nil
	for _, name := range []string{store.FileName, store.FileName + store.WALSuffix} {
		raw, err := os.ReadFile(filepath.Join(dataDir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("spam again")) || bytes.Contains(raw, []byte("buy my pills")) {
			t.Fatalf("the node's %s holds the report in plaintext", name)
		}
	}
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reports, err := st.Reports()
	if err != nil || len(reports) != 1 || reports[0].Account != "alice" {
		t.Fatalf("the node's reports: %+v, %v", reports, err)
	}
	key, err := datadir.OpenReportKey(filepath.Join(dataDir, datadir.ReportKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Open(key, reports[0].Sealed)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reporter != "alice@"+domain1 || r.Sender != mallory || r.Text != "buy my pills" || r.Note != "spam again" {
		t.Fatalf("the report opens to %+v", r)
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}

// TestABlockOnOneDeviceDropsTheBlockedAccountsChannelPostsOnTheOther
// blocks on the laptop and reads on the desk: the list arrives (shown as
// nothing), and the blocked account's channel post, which no node can
// refuse, is dropped there.
func TestABlockOnOneDeviceDropsTheBlockedAccountsChannelPostsOnTheOther(t *testing.T) {
	t.Parallel()
	start := time.Now()
	p := startNodeProc(t, qpcBin)
	d := newDevices(t, p, "carol", "mallory")
	d.must("carol", "laptop", "register", "--name", "laptop")
	d.must("mallory", "mallory", "register")
	d.link("carol", "desk", "desk", "laptop", "")
	created, _ := d.mustChannel("mallory", "mallory", "create", "kiez")
	d.mustChannel("carol", "desk", "join", strings.TrimSpace(created))
	mallory := "mallory@" + domain1

	if out := d.must("carol", "laptop", "block", "mallory"); !strings.Contains(out, "blocked "+mallory+"; told your 1 other device(s); your node's deny list is updated") {
		t.Fatalf("qpc block printed %q", out)
	}
	d.mustChannel("mallory", "mallory", "send", "kiez", "spam for everyone")
	// The desk's recv applies the list (the sync bundle and the list:
	// nothing else), then its channel recv drops mallory's post.
	for _, m := range d.recv("carol", "desk") {
		if !m.Synced {
			t.Fatalf("the desk read %+v; want only the sync bundle shown", m)
		}
	}
	out, errOut := d.mustChannel("carol", "desk", "recv", "kiez", "--json")
	if strings.Contains(out, "spam for everyone") || !strings.Contains(errOut, "dropped 1 post of blocked accounts") {
		t.Fatalf("the desk's channel recv printed %q, %q; want mallory's post dropped", out, errOut)
	}
	var l blockListJSON
	if err := json.Unmarshal([]byte(d.must("carol", "desk", "block", "--list", "--json")), &l); err != nil ||
		len(l.Blocked) != 1 || l.Blocked[0] != mallory || len(l.Node) != 1 || l.Node[0] != mallory {
		t.Fatalf("the desk's block --list: %+v (%v)", l, err)
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}
