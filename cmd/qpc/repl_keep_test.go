//go:build !router

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/backup"
	"github.com/quicprochat/qpc/crypto/sealedfile"
)

// In a running REPL, which holds the chat database open (the one-shot
// qpc backup create says ErrInUse meanwhile), /backup and /export write
// their files from the REPL's own process, the passphrase asked at its
// prompt without echo; /export verify checks the archive and refuses a
// wrong passphrase. Then, with the node gone, qpc search still finds the
// line: it opens the account from this machine, as the REPL did.
func TestReplBacksUpAndExportsWhileItHoldsTheDatabaseAndSearchNeedsNoNode(t *testing.T) {
	t.Parallel()
	needTmux(t)
	start := time.Now()
	p := startNodeProc(t, qpcBin)
	alice := newChanUser(t, p, "alice")
	bob := newChanUser(t, p, "bob")
	dir := t.TempDir()
	bk, arch := filepath.Join(dir, "alice.qpcbackup"), filepath.Join(dir, "dm.qpcarchive")

	a := startRepl(t, alice)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("alice's screen:\n%s", a.capture())
		}
	})
	a.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)
	a.expect("minutes of the walnut club", " me minutes of the walnut club", replWait)

	// bob follows; alice's edit of the line reaches his recv --follow as
	// a change object of its own.
	follow := bob.command("recv", "--follow", "--json")
	var fout lockedBuffer
	follow.Stdout = &fout
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		follow.Process.Kill()
		follow.Wait()
	})
	fout.waitFor(t, "minutes of the walnut club", replWait)
	a.expect("/search walnut", "1 found", replWait)
	m := regexp.MustCompile(`#(\d+) .*minutes of the walnut club`).FindStringSubmatch(a.capture())
	if m == nil {
		t.Fatalf("/search shows no line number:\n%s", a.capture())
	}
	a.expect("/edit "+m[1]+" minutes of the walnut club, amended", "amended", replWait)
	fout.waitFor(t, `"change":"edited"`, replWait)
	if !strings.Contains(fout.String(), `"text":"minutes of the walnut club, amended"`) {
		t.Errorf("bob's recv --follow --json:\n%s", fout.String())
	}

	// The one-shot command cannot read the database the REPL holds.
	oneshot := exec.Command(qpcBin, "backup", "create", filepath.Join(dir, "oneshot.qpcbackup"), "--password-file", alice.pw, "--state-dir", alice.state,
		"--passphrase-file", writeFile(t, dir, "pass", backupPassphrase+"\n"))
	if out, err := oneshot.CombinedOutput(); err == nil || !strings.Contains(string(out), "open in another qpc") {
		t.Errorf("qpc backup create beside the REPL: %v\n%s", err, out)
	}

	a.expect("/backup "+bk, "Backup passphrase: ", replWait)
	a.expect(backupPassphrase, "Again: ", replWait)
	a.expect(backupPassphrase, "backed up alice@"+domain1, replWait)
	a.waitFor("backup [", replWait) // the progress line, the last at 100%

	a.expect("/export bob "+arch, "Archive passphrase: ", replWait)
	a.expect(backupPassphrase, "Again: ", replWait)
	a.expect(backupPassphrase, "exported ", replWait)
	a.expect("/export verify "+arch, "Archive passphrase: ", replWait)
	a.expect("not the passphrase", "wrong passphrase or recovery code", replWait)
	a.expect("/export verify "+arch, "Archive passphrase: ", replWait)
	a.expect(backupPassphrase, "VALID: ", replWait)
	// An existing file is not replaced, and no passphrase is asked for.
	a.expect("/backup "+bk, "exists; give another name", replWait)
	if screen := a.capture(); strings.Contains(screen, backupPassphrase) || strings.Contains(screen, "not the passphrase") {
		t.Errorf("a passphrase was echoed:\n%s", screen)
	}
	a.expect("/quit", "[exited 0]", replWait)

	// The backup holds the whole state, the chat database with it.
	f, err := os.Open(bk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := backup.Open(f, func(sealedfile.SecretKind) ([]byte, error) { return []byte(backupPassphrase), nil })
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, file := range r.Manifest().Files {
		names = append(names, file.Name)
	}
	if m := r.Manifest(); m.Address != "alice@"+domain1 || !strings.Contains(strings.Join(names, " "), "alice@"+domain1+".chat.db") {
		t.Errorf("the backup's manifest: %+v", m)
	}
	// The archive verifies from the command line too, with the line.
	c := exec.Command(qpcBin, "export", "verify", arch, "--passphrase-file", filepath.Join(dir, "pass"), "--show")
	var out bytes.Buffer
	c.Stdout = &out
	if err := c.Run(); err != nil || !strings.Contains(out.String(), "minutes of the walnut club") {
		t.Errorf("qpc export verify of the REPL's archive: %v\n%s", err, out.String())
	}

	// No node: search reads this machine's history.
	signalNode(t, p, syscall.SIGTERM)
	searched := time.Now()
	sout, serr, code := alice.run("", "search", "--json", "WALNUT")
	var got searchJSON
	if code != 0 || json.Unmarshal([]byte(sout), &got) != nil || len(got.Hits) != 1 || got.Hits[0].Text != "minutes of the walnut club, amended" {
		t.Fatalf("qpc search with the node down: exit %d\n%s%s", code, sout, serr)
	}
	if took := time.Since(searched); took > 10*time.Second {
		t.Errorf("qpc search with the node down took %s: it waited for the node", took)
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}

// writeFile writes content to dir/name, mode 0600, and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// lockedBuffer is a bytes.Buffer a process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls until the buffer holds substr.
func (l *lockedBuffer) waitFor(t *testing.T, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(l.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("%q did not come within %s; so far:\n%s", substr, timeout, l.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
