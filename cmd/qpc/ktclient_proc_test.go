package main

// Issue 23, the client's part, against real `qpc node` processes: keys
// put into a node's store behind its key transparency log's back are
// refused, a log forked between two clients is caught where their heads
// meet, an account sees foreign keys in its own entry, and `qpc kt audit`
// verifies a log of 10,000 entries and names the one entry changed in it.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// forgeKeys puts keys of the forger's for user into the stopped node's
// store without a log entry, as someone who holds the router's flash
// can: a legacy bundle, validly signed for the address by a key the
// forger made, so that only the log tells it from the user's own.
func forgeKeys(t *testing.T, dataDir, user string) {
	t.Helper()
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evil, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	b, err := evil.Bundle(user + "@" + domain1)
	if err != nil {
		t.Fatal(err)
	}
	k := protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature, Published: time.Now()}
	if err := st.PutKeys(user, k, node.Devices{}); err != nil {
		t.Fatal(err)
	}
}

func TestBobRefusesKeysForAliceThatTheNodesLogDoesNotHold(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	qpc, _ := cliUsers(t, p, "alice", "bob")
	if out, e, err := qpc("bob", "send", "--to", "alice", "before"); err != nil {
		t.Fatalf("bob's first send: %v\n%s%s", err, out, e)
	}
	stopNode(t, p)
	forgeKeys(t, dataDir, "alice")
	p = startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)

	out, e, err := qpc("bob", "send", "--server", p.addr, "--pin", p.fp, "--to", "alice", "to the forged keys")
	if err == nil || out != "" || !strings.Contains(e, "keys of alice@"+domain1) || !strings.Contains(e, "REFUSED") ||
		!strings.Contains(e, "not in its key transparency log") {
		t.Fatalf("bob's send to the forged keys: %v, stdout %q, stderr %q; want it refused by the log", err, out, e)
	}
	// Nothing reached alice's queue: the refusal came before sealing.
	stopNode(t, p)
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
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
			t.Errorf("a message reached alice's queue after the forgery: seq %d", m.Seq)
		}
	}
}

// TestBobRefusesANodeWhoseLogWasRewrittenBehindHisBack: the attacker with the
// router's flash gives alice mallory's keys and rewrites the log to match
// (tamperKeysAndLog), so that the node re-signs a head of the size bob
// holds with another root. bob's client refuses the node's log (already
// at his own entry, as he logs in), and the node, handed bob's head by
// gossip, holds the fork as evidence, which bob's client shows.
func TestBobRefusesANodeWhoseLogWasRewrittenBehindHisBack(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	qpc, _ := cliUsers(t, p, "alice", "bob", "mallory")
	if out, e, err := qpc("bob", "send", "--to", "alice", "before"); err != nil {
		t.Fatalf("bob's first send: %v\n%s%s", err, out, e)
	}
	stopNode(t, p)
	tamperKeysAndLog(t, dataDir, "alice", "mallory")
	p = startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	out, e, err := qpc("bob", "send", "--server", p.addr, "--pin", p.fp, "--to", "alice", "to the rewritten log")
	if err == nil || out != "" || !strings.Contains(e, "REFUSED") || !strings.Contains(e, "contradicts what it showed you before") {
		t.Fatalf("bob's send after the rewrite: %v, stdout %q, stderr %q; want the log refused", err, out, e)
	}
	if !strings.Contains(e, "ALARM") || !strings.Contains(e, "fork") {
		t.Errorf("bob's client did not show the node's evidence: %q", e)
	}
}

func TestAnAccountSeesForeignKeysInItsOwnEntryAsAnAlarm(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	qpc, dir := cliUsers(t, p, "alice")
	if _, e, err := qpc("alice", "recv"); err != nil || strings.Contains(e, "ALARM") {
		t.Fatalf("alice's recv before: %v %q", err, e)
	}
	// Someone with alice's password publishes an account key and device
	// of their own: the node logs them, as it must, and hands them out.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resetKeys(t, ctx, p, "alice")
	_, e, _ := qpc("alice", "recv")
	if !strings.Contains(e, "ALARM") || !strings.Contains(e, "alice@"+domain1) || !strings.Contains(e, "none of your devices made") ||
		!strings.Contains(e, `"reset"`) {
		t.Fatalf("alice's recv after the foreign keys: stderr %q; want the alarm naming the foreign device", e)
	}
	// qpc status, which logs nothing in, shows the alarm this machine
	// raised for the account of that node. (It reads the default state
	// dir: $XDG_STATE_HOME/qpc is alice's here.)
	home := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "alice"), filepath.Join(home, "qpc")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qpcBin, "status", "--server", p.addr, "--pin", p.fp)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "key transparency alarm") || !strings.Contains(string(out), "none of your devices made") {
		t.Fatalf("qpc status: %v\n%s", err, out)
	}
}

// copyDir copies the files of a stopped node's data dir.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := os.MkdirAll(filepath.Join(to, e.Name()), 0o700); err != nil {
				t.Fatal(err)
			}
			copyDir(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAForkedLogIsCaughtWhereTheHeadsOfTwoClientsMeet: node 1 forks its
// log: the test runs it twice from copies of one data dir (one key, one
// certificate, one domain), and each copy logs another account next. bob
// follows one copy, carol the other, each accepting a head of the same
// size with another root. When carol's client meets the other copy, the
// heads meet there: the node holds the fork as evidence and carol is
// alarmed, and her client refuses the node's log.
func TestAForkedLogIsCaughtWhereTheHeadsOfTwoClientsMeet(t *testing.T) {
	t.Parallel()
	dirA, dirB := t.TempDir(), t.TempDir()
	p := startNodeProcIn(t, dirA, "127.0.0.1:0", qpcBin)
	qpc, stateDir := cliUsers(t, p, "bob", "carol")
	stopNode(t, p)
	copyDir(t, dirA, dirB)
	a := startNodeProcIn(t, dirA, "127.0.0.1:0", qpcBin)
	b := startNodeProcIn(t, dirB, "127.0.0.1:0", qpcBin)
	if a.fp != b.fp {
		t.Fatal("the copies present different certificates")
	}
	// One more account on each copy: the logs part.
	for _, side := range []struct {
		p    *nodeProc
		user string
	}{{a, "dave"}, {b, "erin"}} {
		pw := filepath.Join(stateDir, side.user+".pw")
		if err := os.WriteFile(pw, []byte("password of "+side.user+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(qpcBin, "register", "--server", side.p.addr, "--pin", side.p.fp, "--username", side.user,
			"--password-file", pw, "--state-dir", filepath.Join(stateDir, side.user)).CombinedOutput(); err != nil {
			t.Fatalf("register %s: %v\n%s", side.user, err, out)
		}
	}
	if out, e, err := qpc("bob", "send", "--server", a.addr, "--pin", a.fp, "--to", "dave", "hi dave"); err != nil {
		t.Fatalf("bob on copy A: %v\n%s%s", err, out, e)
	}
	if out, e, err := qpc("carol", "send", "--server", b.addr, "--pin", b.fp, "--to", "erin", "hi erin"); err != nil {
		t.Fatalf("carol on copy B: %v\n%s%s", err, out, e)
	}
	// carol's client meets copy A, which bob follows.
	_, e, err := qpc("carol", "recv", "--server", a.addr, "--pin", a.fp)
	if err == nil || !strings.Contains(e, "ALARM") || !strings.Contains(e, "fork") || !strings.Contains(e, "both heads checked here") {
		t.Fatalf("carol on copy A: %v, stderr %q; want the fork's alarm", err, e)
	}
	if !strings.Contains(e, "contradicts what it showed you before") {
		t.Errorf("carol's client took copy A's log: stderr %q", e)
	}
	// bob, who never saw copy B, learns of the fork from copy A too.
	if _, e, _ := qpc("bob", "recv", "--server", a.addr, "--pin", a.fp); !strings.Contains(e, "ALARM") || !strings.Contains(e, "fork") {
		t.Errorf("bob on copy A after the heads met: stderr %q; want the fork's alarm", e)
	}
}

// fillLog makes at least n entries in the log of the node p through its
// API, fast: accounts registered in parallel with a key stretching
// function that costs nothing (the node never sees it), each then
// republishing changed keys up to the log's bound per address and day
// (store.MaxKTEntriesPerDay), so n/32 accounts make n entries. What
// bounds its speed is the node's login limit per source address (one a
// second after a burst of 64, no flag), so it logs in from two: the node
// p must listen on both IPv4 and IPv6 loopback ([::]).
func fillLog(t *testing.T, p *nodeProc, n int) {
	t.Helper()
	perAccount := store.MaxKTEntriesPerDay
	accounts := (n + perAccount - 1) / perAccount
	_, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	sources := [2]string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Two bundles per worker to alternate between: each republish
	// changes the keys, which is what appends an entry.
	work := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				// Half the accounts come from ::1, half from 127.0.0.1:
				// two source addresses, two login budgets.
				if err := fillAccount(ctx, sources[i%2], p.fp, fmt.Sprintf("filler%d", i), perAccount); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range accounts {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// fillAccount registers user and publishes changed keys for it until it
// has entries entries in the log.
func fillAccount(ctx context.Context, addr, fp, user string, entries int) error {
	pw := []byte("password of " + user)
	c, err := dialPinnedErr(ctx, addr, fp)
	if err != nil {
		return err
	}
	if _, err := c.Register(ctx, acctKSF, domain1, user, pw); err != nil {
		c.Close()
		return fmt.Errorf("register %s: %w", user, err)
	}
	// A node with the default --login-rate takes one login a second from
	// an address after a burst: the helper waits its turn, on a new
	// connection when the node closed one that waited longer than its
	// --login-timeout.
	for {
		_, _, err := c.Login(ctx, acctKSF, domain1, user, pw)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			c.Close()
			return fmt.Errorf("log %s in: %w", user, err)
		}
		if !errors.Is(err, protocol.ErrRateLimited) {
			c.Close()
			if c, err = dialPinnedErr(ctx, addr, fp); err != nil {
				return err
			}
			continue
		}
		time.Sleep(250 * time.Millisecond) // the node's limit, not readiness: nothing to poll
	}
	defer c.Close()
	var bundles [2]protocol.PublishedKeys
	for i := range bundles {
		keys, err := identity.GenerateUserKeys()
		if err != nil {
			return err
		}
		b, err := keys.Bundle(user + "@" + domain1)
		if err != nil {
			return err
		}
		bundles[i] = protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature}
	}
	for i := range entries {
		if err := c.PublishKeys(ctx, bundles[i%2]); err != nil {
			return fmt.Errorf("publish %d of %s: %w", i, user, err)
		}
	}
	return nil
}

// dialPinnedErr is dialPinned for a goroutine other than the test's.
func dialPinnedErr(ctx context.Context, addr, fp string) (*client.Client, error) {
	return client.Dial(ctx, addr, transport.Trust{Pin: fp}, nil)
}

// changeLogEntry changes the log entry at index in the stopped node's
// store (tamperLogEntry: one bit of its keys hash), leaving the tree and
// the signed head as they were, and returns the entry as changed.
func changeLogEntry(t *testing.T, dataDir string, index uint64) kt.Entry {
	t.Helper()
	tamperLogEntry(t, dataDir, index)
	var e kt.Entry
	tamperStore(t, dataDir, func(tx *bolt.Tx) (err error) {
		e, err = kt.ParseEntry(tx.Bucket([]byte("ktleaves")).Get(binary.BigEndian.AppendUint64(nil, index)))
		return err
	})
	return e
}

func TestKtAuditVerifiesALogOf10000EntriesAndNamesTheOneChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 10,000 log entries through the node's API; run without -short")
	}
	t.Parallel()
	dataDir := t.TempDir()
	// Raised registration and login limits: the helper registers and
	// logs in hundreds of accounts from one address.
	limits := []string{"QPC_REGISTER_RATE=1000000", "QPC_REGISTER_RATE_NODE=1000000", "QPC_LOGIN_RATE=1000000"}
	p := startNodeProcEnv(t, limits, dataDir, "[::]:0", qpcBin)
	start := time.Now()
	fillLog(t, p, 10_000)
	t.Logf("made the log through the API in %s", time.Since(start).Round(time.Millisecond))
	state := t.TempDir()
	audit := func(p *nodeProc, extra ...string) (auditJSON, int, string) {
		t.Helper()
		args := append([]string{"kt", "audit", "--server", p.addr, "--pin", p.fp, "--state-dir", state, "--json"}, extra...)
		cmd := exec.Command(qpcBin, args...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		var r auditJSON
		if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
			t.Fatalf("audit output %q (stderr %q): %v", out.String(), errb.String(), err)
		}
		return r, code, errb.String()
	}
	start = time.Now()
	r, code, e := audit(p, "--address", "filler7@"+domain1)
	t.Logf("audit of %d entries: %s (the command's own measure %d ms)", r.Entries, time.Since(start).Round(time.Millisecond), r.ElapsedMs)
	if code != 0 || !r.OK || r.Entries < 10_000 || r.Size != r.Entries || r.Addresses < 313 || len(r.Problems) != 0 {
		t.Fatalf("audit: exit %d, ok %v, %d entries of size %d, %d addresses, problems %v; stderr %q", code, r.OK, r.Entries, r.Size, r.Addresses, r.Problems, e)
	}
	if n := r.Changes["filler7@"+domain1]; n != store.MaxKTEntriesPerDay-1 || len(r.History) != store.MaxKTEntriesPerDay {
		t.Errorf("filler7: %d key changes, %d history entries; want %d and %d", n, len(r.History), store.MaxKTEntriesPerDay-1, store.MaxKTEntriesPerDay)
	}

	// One entry in the middle is changed in the store of the stopped node.
	stopNode(t, p)
	const changed = 4321
	e1 := changeLogEntry(t, dataDir, changed)
	p = startNodeProcEnv(t, limits, dataDir, "[::]:0", qpcBin)
	r, code, e = audit(p)
	if code == 0 || r.OK || len(r.Problems) == 0 {
		t.Fatalf("audit after the change: exit %d, ok %v, problems %v", code, r.OK, r.Problems)
	}
	named := false
	for _, pr := range r.Problems {
		if pr.Index == changed && pr.Address == e1.Address {
			named = true
		}
	}
	if !named {
		t.Fatalf("the problems %+v do not name entry %d of %s", r.Problems, changed, e1.Address)
	}
	// Without --json, a person reads the entry named too.
	out, err := exec.Command(qpcBin, "kt", "audit", "--server", p.addr, "--pin", p.fp, "--state-dir", state).CombinedOutput()
	if err == nil || !strings.Contains(string(out), fmt.Sprint(changed)) || !strings.Contains(string(out), e1.Address) || !strings.Contains(string(out), "PROBLEM") {
		t.Fatalf("audit for a person: %v\n%s", err, out)
	}
}

func TestKtAuditHelpAndMistakes(t *testing.T) {
	t.Parallel()
	// --help prints the flags where the flag set writes, stderr.
	if code, _, e := runQPC("kt", "audit", "--help"); code != exitOK || !strings.Contains(e, "--address") ||
		!strings.Contains(e, "--json") || !strings.Contains(e, "--server") {
		t.Fatalf("kt audit --help: exit %d, %q", code, e)
	}
	if code, _, e := runQPC("kt"); code != exitUsage || !strings.Contains(e, "qpc kt audit") {
		t.Errorf("qpc kt: exit %d, %q", code, e)
	}
	if code, out, _ := runQPC("kt", "--help"); code != exitOK || !strings.Contains(out, "audit") {
		t.Errorf("qpc kt --help: exit %d, %q", code, out)
	}
	if code, _, e := runQPC("kt", "audit", "--state-dir", t.TempDir()); code != exitUsage || !strings.Contains(e, "--server is required") {
		t.Errorf("kt audit without a server or an account: exit %d, %q", code, e)
	}
	if code, _, _ := runQPC("kt", "frobnicate"); code != exitUsage {
		t.Errorf("an unknown kt command: exit %d", code)
	}
}
