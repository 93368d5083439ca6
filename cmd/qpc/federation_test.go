package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/node/store"
)

// Federation as an admin runs it: `qpc node` processes with certificates
// of one community CA, and users on different nodes who reach each other
// with nothing but `qpc register`, `qpc send` and `qpc recv`.

// federationFlags makes a community CA and a federation certificate for
// each domain, in files, and returns the `qpc node` flags of each domain.
func federationFlags(t *testing.T, domains ...string) map[string][]string {
	t.Helper()
	a, err := ca.New("test community CA", 3*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return federationFlagsOf(t, a, domains...)
}

// federationFlagsOf is federationFlags with the community CA a.
func federationFlagsOf(t *testing.T, a *ca.Authority, domains ...string) map[string][]string {
	t.Helper()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "community-ca.crt")
	if err := os.WriteFile(caFile, a.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	flags := map[string][]string{}
	for _, d := range domains {
		certPEM, keyPEM, err := a.Issue(ca.IssueOptions{Domain: d})
		if err != nil {
			t.Fatal(err)
		}
		cert, key := filepath.Join(dir, d+".crt"), filepath.Join(dir, d+".key")
		if err := os.WriteFile(cert, certPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		flags[d] = []string{"--federation-cert", cert, "--federation-key", key, "--federation-ca", caFile}
	}
	return flags
}

// fedNode is a `qpc node` process on loopback with a domain of its own
// (startNodeProc always serves node1.example.mesh).
type fedNode struct {
	*logProc
	domain, dataDir string
	addr, id, fp    string
}

// startFedNode runs a node for domain on listen with dataDir and extra
// flags, and waits until it serves.
func startFedNode(t *testing.T, domain, dataDir, listen string, extra ...string) *fedNode {
	t.Helper()
	args := append([]string{"node", "--listen", listen, "--domain", domain,
		"--data-dir", dataDir, "--log-format", "json"}, extra...)
	n := &fedNode{domain: domain, dataDir: dataDir}
	n.logProc = startLogProc(t, exec.Command(qpcBin, args...))
	rec, ok := n.waitLog(30*time.Second, func(r map[string]any) bool { return r["msg"] == "node serving" })
	if !ok {
		t.Fatalf("node %s did not start; logs:\n%s", domain, n.Logs())
	}
	n.addr, n.id, n.fp = rec["addr"].(string), rec["node_id"].(string), rec["fingerprint"].(string)
	return n
}

// kill ends the node with SIGKILL: no goodbye, no connection close.
func (n *fedNode) kill(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-n.done
	n.done <- err // for the cleanup
}

// linkEvent waits for a "federation link up" or "federation link down"
// record about peer logged after mark, and returns when it was logged.
func linkEvent(t *testing.T, p *logProc, mark int, within time.Duration, msg, peer string) (time.Time, bool) {
	t.Helper()
	rec, ok := p.waitLogFrom(mark, within, func(r map[string]any) bool {
		return r["msg"] == msg && r["peer"] == peer
	})
	if !ok {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, rec["time"].(string))
	if err != nil {
		t.Fatalf("log record %v has no time: %v", rec, err)
	}
	return at, true
}

// cliUser runs the account commands of one user, with a password file and
// state dir of its own. wrap turns a qpc command line into the command to
// run: as it is, or inside a network namespace.
type cliUser struct {
	t             *testing.T
	name          string
	pwFile, state string
	wrap          func(args ...string) *exec.Cmd
}

// cliTimeout bounds a qpc account command that should succeed; register
// and login stretch the password with Argon2id.
const cliTimeout = 2 * time.Minute

func newCLIUser(t *testing.T, name string, wrap func(args ...string) *exec.Cmd) *cliUser {
	t.Helper()
	dir := t.TempDir()
	u := &cliUser{t: t, name: name, pwFile: filepath.Join(dir, "pw"), state: filepath.Join(dir, "state"), wrap: wrap}
	if err := os.WriteFile(u.pwFile, []byte("password of "+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return u
}

// cliResult is how a qpc command ended.
type cliResult struct {
	code           int // -1 when killed at its timeout
	stdout, stderr string
	took           time.Duration
	timedOut       bool
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d after %s (timed out: %v)\nstdout: %s\nstderr: %s",
		r.code, r.took.Round(time.Millisecond), r.timedOut, r.stdout, r.stderr)
}

// run runs `qpc <cmd> --password-file ... --state-dir ... <args>` and
// kills it after timeout. Flags go before the positional text, which ends
// flag parsing.
func (u *cliUser) run(timeout time.Duration, cmd string, args ...string) cliResult {
	u.t.Helper()
	full := append([]string{qpcBin, cmd, "--password-file", u.pwFile, "--state-dir", u.state}, args...)
	c := u.wrap(full...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	start := time.Now()
	if err := c.Start(); err != nil {
		u.t.Fatal(err)
	}
	// `ip netns exec` execs qpc in its own place, so this kills qpc.
	timer := time.AfterFunc(timeout, func() { c.Process.Kill() })
	c.Wait()
	r := cliResult{code: c.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	r.timedOut = !timer.Stop()
	return r
}

// mustRun is run that fails the test unless the command succeeds.
func (u *cliUser) mustRun(cmd string, args ...string) cliResult {
	u.t.Helper()
	r := u.run(cliTimeout, cmd, args...)
	if r.code != exitOK {
		u.t.Fatalf("%s: qpc %s %s: %s", u.name, cmd, strings.Join(args, " "), r)
	}
	return r
}

// send sends text to addr and checks that the node took it.
func (u *cliUser) send(to, text string) {
	u.t.Helper()
	r := u.mustRun("send", "--to", to, text)
	if !strings.Contains(r.stdout, "sent to "+to+" (seq ") {
		u.t.Errorf("%s: qpc send to %s printed %q", u.name, to, r.stdout)
	}
}

// recv runs `qpc recv --json` and returns the messages it printed.
func (u *cliUser) recv() []recvJSON {
	u.t.Helper()
	r := u.mustRun("recv", "--json")
	var got []recvJSON
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line == "" {
			continue
		}
		var m recvJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			u.t.Fatalf("%s: qpc recv printed %q: %v", u.name, line, err)
		}
		got = append(got, m)
	}
	return got
}

// expectOne checks that got is exactly one verified message from from
// with text.
func expectOne(t *testing.T, got []recvJSON, from, text string) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1: %+v", len(got), got)
	}
	if m := got[0]; m.From != from || m.Text != text || !m.Verified || m.Problem != "" {
		t.Errorf("received %+v, want %q from %s, verified", m, text, from)
	}
}

// expectNoPlaintext fails if the node's database file holds any of texts.
func expectNoPlaintext(t *testing.T, n *fedNode, texts ...string) {
	t.Helper()
	db, err := os.ReadFile(filepath.Join(n.dataDir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(db) == 0 {
		t.Fatalf("%s's database is empty", n.domain)
	}
	for _, text := range texts {
		if bytes.Contains(db, []byte(text)) {
			t.Errorf("%s's database holds the plaintext %q", n.domain, text)
		}
	}
}

// fedPair is n1.example.mesh linked to n2.example.mesh, which n1 dials.
type fedPair struct {
	n1, n2 *fedNode
	flags  map[string][]string // each domain's --federation-* flags
	dir2   string              // n2's data dir, to restart it with
}

// startFedPair starts n2, then n1 with --peer n2, and waits for the link.
func startFedPair(t *testing.T) fedPair {
	t.Helper()
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	p := fedPair{flags: federationFlags(t, d1, d2), dir2: t.TempDir()}
	p.n2 = startFedNode(t, d2, p.dir2, "127.0.0.1:0", p.flags[d2]...)
	p.n1 = startFedNode(t, d1, t.TempDir(), "127.0.0.1:0", append(p.flags[d1], "--peer", p.n2.addr)...)
	if _, ok := linkEvent(t, p.n1.logProc, 0, 30*time.Second, "federation link up", d2); !ok {
		t.Fatalf("n1 did not link to n2; n1:\n%s\nn2:\n%s", p.n1.Logs(), p.n2.Logs())
	}
	return p
}

// registerPair registers alice on n1 and bob on n2.
func registerPair(t *testing.T, n1, n2 *fedNode) (alice, bob *cliUser) {
	t.Helper()
	alice = newCLIUser(t, "alice", plainCommand)
	bob = newCLIUser(t, "bob", plainCommand)
	alice.mustRun("register", "--server", n1.addr, "--pin", n1.fp, "--username", "alice")
	bob.mustRun("register", "--server", n2.addr, "--pin", n2.fp, "--username", "bob")
	return alice, bob
}

func plainCommand(args ...string) *exec.Cmd { return exec.Command(args[0], args[1:]...) }

func TestFederatedNodeComesBackAfterSIGKILLAndDeliveryResumes(t *testing.T) {
	t.Parallel()
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	fp := startFedPair(t)
	n1, n2, flags, dir2 := fp.n1, fp.n2, fp.flags, fp.dir2
	alice, bob := registerPair(t, n1, n2)

	first := "first secret for bob across the federation"
	alice.send("bob@"+d2, first)
	expectNoPlaintext(t, n2, first) // it waits in bob's mailbox now
	expectOne(t, bob.recv(), "alice@"+d1, first)

	mark := n1.mark()
	n2.kill(t)
	killed := time.Now()

	// n1 learns of n2's death only from silence: a killed node sends no
	// CONNECTION_CLOSE, and quic-go does not take the ICMP errors of its
	// closed port for the end of the connection. So the link stays up
	// until a health check of the link goes unanswered (every
	// transport.LinkKeepAlive, with as long to answer), and a send in
	// that window waits on the dead link and fails (the message may or
	// may not have reached n2, so it is not put into the mesh), or gives
	// up at its own --timeout. Once n1 knows the link is down, a send
	// waits in the mesh on n1's disk. Hence: send until one is queued,
	// within a deadline.
	var queued []string
	deadline := killed.Add(90 * time.Second)
	for attempt := 1; ; attempt++ {
		text := fmt.Sprintf("sent while n2 is dead, attempt %d", attempt)
		r := alice.run(45*time.Second, "send", "--to", "bob@"+d2, text)
		if r.code == exitOK {
			if !strings.Contains(r.stdout, "queued in the mesh at "+d1) {
				t.Fatalf("send to bob with n2 killed neither failed nor was queued in the mesh: %s", r)
			}
			queued = append(queued, text)
			t.Logf("send with n2 killed: attempt %d queued in the mesh, %s after the kill",
				attempt, time.Since(killed).Round(time.Millisecond))
			break
		}
		if !r.timedOut && !strings.Contains(r.stderr, "no answer from node") && !strings.Contains(r.stderr, "not reachable") {
			t.Fatalf("send to bob with n2 killed failed for another reason: %s", r)
		}
		t.Logf("send with n2 killed: attempt %d failed after %s: %s", attempt, r.took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
		if time.Now().After(deadline) {
			t.Fatalf("no send was queued within %s of the kill; n1:\n%s", time.Since(killed).Round(time.Second), n1.Logs())
		}
	}
	down, ok := linkEvent(t, n1.logProc, mark, 30*time.Second, "federation link down", d2)
	if !ok {
		t.Fatalf("n1 never logged its link to n2 down; n1:\n%s", n1.Logs())
	}
	t.Logf("n1 logged the link to n2 down %s after the kill", down.Sub(killed).Round(time.Millisecond))
	// With the link known to be down the node queues at once.
	text := "sent while the link to n2 is down"
	if r := alice.run(45*time.Second, "send", "--to", "bob@"+d2, text); r.code != exitOK || !strings.Contains(r.stdout, "queued in the mesh") {
		t.Fatalf("send to bob with the link down: %s", r)
	}
	queued = append(queued, text)
	expectNoPlaintext(t, n1, queued...)

	// The link is down by now, so this is n1's redial finding n2 back,
	// not the stateless reset (see the next test for that).
	mark = n1.mark()
	restarted := time.Now()
	old := n2
	n2 = startFedNode(t, d2, dir2, old.addr, flags[d2]...)
	if n2.id != old.id || n2.fp != old.fp {
		t.Errorf("n2 came back as node %s with certificate %s, was %s with %s", n2.id, n2.fp, old.id, old.fp)
	}
	up, ok := linkEvent(t, n1.logProc, mark, 60*time.Second, "federation link up", d2)
	if !ok {
		t.Fatalf("n1 did not link to n2 again after its restart; n1:\n%s\nn2:\n%s", n1.Logs(), n2.Logs())
	}
	t.Logf("link back up on n1 %s after n2 was restarted (%s after the kill)",
		up.Sub(restarted).Round(time.Millisecond), up.Sub(killed).Round(time.Millisecond))

	// The queued messages arrive by themselves, once each and in order.
	var got []recvJSON
	for wait := time.Now().Add(30 * time.Second); len(got) < len(queued) && time.Now().Before(wait); {
		got = append(got, bob.recv()...)
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != len(queued) {
		t.Fatalf("bob got %d of the %d messages queued in the mesh: %+v", len(got), len(queued), got)
	}
	for i, m := range got {
		if m.From != "alice@"+d1 || m.Text != queued[i] || !m.Verified {
			t.Errorf("queued message %d: %+v, want %q", i, m, queued[i])
		}
	}

	second := "second secret for bob, after n2 came back"
	alice.send("bob@"+d2, second)
	expectNoPlaintext(t, n2, first, second)
	expectOne(t, bob.recv(), "alice@"+d1, second)
	expectNoPlaintext(t, n2, append(queued, first, second)...)
	expectNoPlaintext(t, n1, append(queued, first, second)...)
}

// TestAPeerRestartedAtOnceGetsTheFirstMessageSentAfterItsRestart is the
// common failure of a router: the node crashes and procd starts it again
// within a second, on the same port with the same node key. n1's link to
// the old process is stale; the restarted n2 answers the stale link's
// packets with a QUIC stateless reset (its reset key is derived from the
// node key), so n1 should drop the link and redial instead of failing a
// user's message or waiting for the link's idle timeout.
func TestAPeerRestartedAtOnceGetsTheFirstMessageSentAfterItsRestart(t *testing.T) {
	t.Parallel()
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	fp := startFedPair(t)
	n1, n2, flags, dir2 := fp.n1, fp.n2, fp.flags, fp.dir2
	alice, bob := registerPair(t, n1, n2)

	mark := n1.mark()
	old := n2
	old.kill(t)
	n2 = startFedNode(t, d2, dir2, old.addr, flags[d2]...)
	restarted := time.Now()

	text := "for bob, sent just after n2 came back"
	r := alice.run(time.Minute, "send", "--to", "bob@"+d2, text)
	if down, ok := linkEvent(t, n1.logProc, mark, 60*time.Second, "federation link down", d2); ok {
		t.Logf("n1 dropped the stale link %s after n2's restart", down.Sub(restarted).Round(time.Millisecond))
	}
	up, ok := linkEvent(t, n1.logProc, mark, 60*time.Second, "federation link up", d2)
	if !ok {
		t.Fatalf("n1 did not link to the restarted n2; n1:\n%s", n1.Logs())
	}
	t.Logf("n1's link to n2 up again %s after n2's restart", up.Sub(restarted).Round(time.Millisecond))
	if r.code != exitOK {
		t.Errorf("the first send after n2's restart failed although n2 was up: %s", r)
		alice.send("bob@"+d2, text) // the link is back: this one must go through
	}
	expectOne(t, bob.recv(), "alice@"+d1, text)
	expectNoPlaintext(t, n2, text)
}

func TestNodesFoundByMDNSLinkAndDeliverWithoutPeerFlags(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	flags := federationFlags(t, d1, d2)
	tn := newTestNet(t, 2)
	n1 := startMeshNode(t, tn, tn.hosts[0], d1, 7001, flags[d1]...)
	n2 := startMeshNode(t, tn, tn.hosts[1], d2, 7002, flags[d2]...)
	for _, n := range []*meshNode{n1, n2} {
		rec, ok := n.waitLog(5*time.Second, func(r map[string]any) bool { return r["msg"] == "federation on" })
		if !ok || rec["peers"] != 0.0 || rec["discovery"] != true {
			t.Fatalf("%s: federation on with %v, want no static peers and discovery; logs:\n%s", n.domain, rec, n.Logs())
		}
	}

	later := n2.started
	for _, pair := range [][2]*meshNode{{n1, n2}, {n2, n1}} {
		a, b := pair[0], pair[1]
		at, ok := linkEvent(t, a.logProc, 0, 30*time.Second, "federation link up", b.domain)
		if !ok {
			t.Fatalf("%s did not link to %s found by mDNS; %s:\n%s\n%s:\n%s", a.domain, b.domain, a.domain, a.Logs(), b.domain, b.Logs())
		}
		t.Logf("%s: link to %s up %s after the later node started", a.domain, b.domain, at.Sub(later).Round(time.Millisecond))
	}

	inNS := func(ns string) func(args ...string) *exec.Cmd {
		return func(args ...string) *exec.Cmd { return tn.command(ns, args...) }
	}
	alice := newCLIUser(t, "alice", inNS(tn.hosts[0]))
	bob := newCLIUser(t, "bob", inNS(tn.hosts[1]))
	alice.mustRun("register", "--server", fmt.Sprintf("192.0.2.1:%d", n1.port), "--pin", n1.fp, "--username", "alice")
	bob.mustRun("register", "--server", fmt.Sprintf("192.0.2.2:%d", n2.port), "--pin", n2.fp, "--username", "bob")

	text := "hello bob, from a node found by mDNS"
	alice.send("bob@"+d2, text)
	expectOne(t, bob.recv(), "alice@"+d1, text)
}

// TestALinkLeftOverFromBeforeAPeerRestartedDoesNotBeatItsNewOne covers the
// tie-break between two links of the same nodes: the one dialed by the
// smaller domain stays. After n2 (the larger) is killed and comes back
// dialing n1 itself, n1 still holds its own link to the dead n2 for a
// while; that stale link must not win over n2's new one, or n2's links
// would be refused again and again until n1 noticed.
func TestALinkLeftOverFromBeforeAPeerRestartedDoesNotBeatItsNewOne(t *testing.T) {
	t.Parallel()
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	fp := startFedPair(t)
	n1, n2, flags, dir2 := fp.n1, fp.n2, fp.flags, fp.dir2
	old := n2
	old.kill(t)
	n2 = startFedNode(t, d2, dir2, old.addr, append(flags[d2], "--peer", n1.addr)...)
	if _, ok := linkEvent(t, n2.logProc, 0, 30*time.Second, "federation link up", d1); !ok {
		t.Fatalf("the restarted n2 did not link to n1; n2:\n%s", n2.Logs())
	}
	// Give a flapping link time to show itself, then count.
	time.Sleep(3 * time.Second)
	ups, downs := 0, 0
	for _, line := range strings.Split(n2.Logs(), "\n") {
		switch {
		case strings.Contains(line, `"msg":"federation link up"`):
			ups++
		case strings.Contains(line, `"msg":"federation link down"`):
			downs++
		}
	}
	if ups > 2 || downs > 1 {
		t.Errorf("n2's link to n1 went up %d and down %d times in 3 s after its restart; n2:\n%s", ups, downs, n2.Logs())
	}

	alice, bob := registerPair(t, n1, n2)
	bob.send("alice@"+d1, "bob, after his node came back")
	expectOne(t, alice.recv(), "bob@"+d2, "bob, after his node came back")
}
