package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chat"
)

// fileFlags let a node take the files of these tests (the router
// defaults allow 8 MiB files).
var fileFlags = []string{"--file-max-size", "64", "--file-user-quota", "256", "--file-store-size", "512"}

// randomFile writes size random bytes to dir/name and returns the path
// and its SHA-256.
func randomFile(t *testing.T, dir, name string, size int) (string, [32]byte) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, sha256.Sum256(b)
}

func fileHash(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// savedLine is recv's "  saved to PATH" line.
var savedLine = regexp.MustCompile(`(?m)^  saved to (.+)$`)

// savedPaths returns the paths recv's output says it saved files to.
func savedPaths(out string) []string {
	var ps []string
	for _, m := range savedLine.FindAllStringSubmatch(out, -1) {
		ps = append(ps, m[1])
	}
	return ps
}

// fileLines returns the raw file lines among messages of recv --json.
func fileLines(t *testing.T, got []recvJSON) []recvJSON {
	t.Helper()
	var fs []recvJSON
	for _, m := range got {
		if m.File != nil {
			if !strings.HasPrefix(m.Text, chat.FilePrefix) {
				t.Fatalf("a file line's text is %q", m.Text)
			}
			fs = append(fs, m)
		}
	}
	return fs
}

func TestAFileSentWithSendFileIsSavedByRecvSaveDirUnderAFreeName(t *testing.T) {
	t.Parallel()
	n := startFedNode(t, domain1, t.TempDir(), "127.0.0.1:0", fileFlags...)
	alice, bob := newCLIUser(t, "alice", plainCommand), newCLIUser(t, "bob", plainCommand)
	alice.mustRun("register", "--server", n.addr, "--pin", n.fp, "--username", "alice")
	bob.mustRun("register", "--server", n.addr, "--pin", n.fp, "--username", "bob")

	const size = 20 << 20
	src, sum := randomFile(t, t.TempDir(), "karte.bin", size)
	save := t.TempDir()
	start := time.Now()
	r := alice.mustRun("send", "--to", "bob", "--file", src)
	sent := time.Since(start)
	upRate := lastProgress(r.stderr)
	if !strings.Contains(r.stdout, "sent to bob@"+domain1) || !strings.Contains(r.stderr, "100%") {
		t.Fatalf("send --file: %s", r)
	}
	mid := time.Now()
	r = bob.mustRun("recv", "--save-dir", save)
	took := time.Since(start)
	if !strings.Contains(r.stdout, "alice@"+domain1+": [file] karte.bin (20.0 MiB, application/octet-stream)") {
		t.Fatalf("recv shows no file line: %s", r)
	}
	got := savedPaths(r.stdout)
	if len(got) != 1 || got[0] != filepath.Join(save, "karte.bin") || fileHash(t, got[0]) != sum {
		t.Fatalf("saved %q, want %s with the sent content: %s", got, filepath.Join(save, "karte.bin"), r)
	}
	t.Logf("20 MiB send --file → recv --save-dir on one node: send %s, recv %s, %.1f MB/s end to end (both processes' logins included); upload: %s; download: %s",
		sent.Round(time.Millisecond), time.Since(mid).Round(time.Millisecond), float64(size)/took.Seconds()/1e6, upRate, lastProgress(r.stderr))

	// The same name again: a suffix, never an overwrite.
	alice.mustRun("send", "--to", "bob", "--file", src)
	r = bob.mustRun("recv", "--save-dir", save)
	if got := savedPaths(r.stdout); len(got) != 1 || got[0] != filepath.Join(save, "karte (2).bin") || fileHash(t, got[0]) != sum {
		t.Fatalf("second file saved as %q: %s", got, r)
	}
	if fileHash(t, filepath.Join(save, "karte.bin")) != sum {
		t.Fatal("the first file was changed")
	}

	// Without --save-dir, recv says what came and how to save it.
	alice.mustRun("send", "--to", "bob", "--file", src)
	r = bob.mustRun("recv")
	if !strings.Contains(r.stdout, "[file] karte.bin") || !strings.Contains(r.stdout, "save it: qpc recv --save-dir DIR") {
		t.Fatalf("recv without --save-dir: %s", r)
	}
}

func TestHostileFileNamesAreSanitisedWhenSaved(t *testing.T) {
	t.Parallel()
	n := startFedNode(t, domain1, t.TempDir(), "127.0.0.1:0", fileFlags...)
	alice, bob, carol := newCLIUser(t, "alice", plainCommand), newCLIUser(t, "bob", plainCommand), newCLIUser(t, "carol", plainCommand)
	for _, u := range []*cliUser{alice, bob, carol} {
		u.mustRun("register", "--server", n.addr, "--pin", n.fp, "--username", u.name)
	}
	dir := t.TempDir()
	// Names a file system allows, sent as they are.
	for _, name := range []string{".bashrc", "rechnung\u202Efdp.exe"} {
		p, _ := randomFile(t, dir, name, 1000)
		alice.mustRun("send", "--to", "bob", "--file", p)
	}
	// Names only a hostile client sends: a real upload's file line, its
	// name changed, sent by alice as text (a text that is a file line is
	// one). carol receives it first to learn the line.
	p, sum := randomFile(t, dir, "plain.txt", 5000)
	alice.mustRun("send", "--to", "carol", "--file", p)
	lines := fileLines(t, carol.recv())
	if len(lines) != 1 {
		t.Fatalf("carol got %d file lines", len(lines))
	}
	ref, ok, err := chat.ParseFileText(lines[0].Text)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	for _, name := range []string{"../x", "a/b", "..", "/etc/passwd"} {
		ref.Name = name
		text, err := chat.FileText(ref)
		if err != nil {
			t.Fatal(err)
		}
		alice.mustRun("send", "--to", "bob", text)
	}
	outer := t.TempDir()
	save := filepath.Join(outer, "in")
	r := bob.mustRun("recv", "--save-dir", save)
	var names []string
	for _, p := range savedPaths(r.stdout) {
		if filepath.Dir(p) != save {
			t.Errorf("saved %s outside %s", p, save)
		}
		names = append(names, filepath.Base(p))
	}
	want := []string{"bashrc", "rechnung_fdp.exe", "_x", "a_b", "file", "_etc_passwd"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Fatalf("saved as %q, want %q\n%s", names, want, r)
	}
	if fileHash(t, filepath.Join(save, "_x")) != sum {
		t.Error("the file saved from a renamed reference is not the uploaded one")
	}
	if ents, _ := os.ReadDir(outer); len(ents) != 1 {
		t.Errorf("something was written beside the save dir: %v", ents)
	}
}

func TestAFileCrossesTwoFederatedNodes(t *testing.T) {
	t.Parallel()
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	flags := federationFlags(t, d1, d2)
	n2 := startFedNode(t, d2, t.TempDir(), "127.0.0.1:0", append(flags[d2], fileFlags...)...)
	n1 := startFedNode(t, d1, t.TempDir(), "127.0.0.1:0", append(append(flags[d1], fileFlags...), "--peer", n2.addr)...)
	if _, ok := linkEvent(t, n1.logProc, 0, 30*time.Second, "federation link up", d2); !ok {
		t.Fatalf("n1 did not link to n2; n1:\n%s\nn2:\n%s", n1.Logs(), n2.Logs())
	}
	alice, bob := registerPair(t, n1, n2)
	const size = 20 << 20
	src, sum := randomFile(t, t.TempDir(), "video.bin", size)
	save := t.TempDir()
	start := time.Now()
	upRate := lastProgress(alice.mustRun("send", "--to", "bob@"+d2, "--file", src).stderr)
	mid := time.Now()
	r := bob.mustRun("recv", "--save-dir", save)
	got := savedPaths(r.stdout)
	if len(got) != 1 || fileHash(t, got[0]) != sum {
		t.Fatalf("bob on n2 saved %q: %s", got, r)
	}
	t.Logf("20 MiB across two federated nodes: send %s, recv %s, %.1f MB/s end to end (logins included); upload: %s; download: %s",
		mid.Sub(start).Round(time.Millisecond), time.Since(mid).Round(time.Millisecond), float64(size)/time.Since(start).Seconds()/1e6, upRate, lastProgress(r.stderr))
}

// progressDone is the done figure of a plain progress line.
var progressDone = regexp.MustCompile(`\]\s+(\d+)% `)

func TestAnInterruptedSendFileResumesWhenRunAgain(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	n := startFedNode(t, domain1, dataDir, "127.0.0.1:0", fileFlags...)
	alice, bob := newCLIUser(t, "alice", plainCommand), newCLIUser(t, "bob", plainCommand)
	alice.mustRun("register", "--server", n.addr, "--pin", n.fp, "--username", "alice")
	bob.mustRun("register", "--server", n.addr, "--pin", n.fp, "--username", "bob")
	const size = 48 << 20
	src, sum := randomFile(t, t.TempDir(), "big.bin", size)

	// Kill qpc send once the node holds some chunks of the file.
	cmd := exec.Command(qpcBin, "send", "--password-file", alice.pwFile, "--state-dir", alice.state, "--to", "bob", "--file", src)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(dataDir, "blobs")
	held := 0
	deadline := time.Now().Add(cliTimeout)
	for held < 20 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the node never held 20 chunks of the upload")
		}
		held = 0
		dirs, _ := os.ReadDir(blobs)
		for _, d := range dirs {
			files, _ := os.ReadDir(filepath.Join(blobs, d.Name()))
			for _, f := range files {
				if _, err := strconv.Atoi(f.Name()); err == nil {
					held++
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	total := size / (128 << 10)
	if held >= total {
		t.Fatalf("the upload finished (%d chunks) before it could be killed: nothing was resumed", held)
	}
	if ents, _ := os.ReadDir(filepath.Join(alice.state, "files")); len(ents) == 0 {
		t.Fatal("no upload state kept after the kill")
	}

	r := alice.mustRun("send", "--to", "bob", "--file", src)
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	first := -1
	for sc.Scan() {
		if m := progressDone.FindStringSubmatch(sc.Text()); m != nil {
			first, _ = strconv.Atoi(m[1])
			break
		}
	}
	// The first report of the rerun counts what the first run put.
	if min := held * 100 / total; first < min {
		t.Fatalf("the rerun started at %d%%, the node held %d of %d chunks (%d%%): not resumed\n%s", first, held, total, min, r)
	}
	if ents, _ := os.ReadDir(filepath.Join(alice.state, "files")); len(ents) != 0 {
		t.Errorf("upload state left after the upload completed: %v", ents)
	}
	save := t.TempDir()
	r = bob.mustRun("recv", "--save-dir", save)
	if got := savedPaths(r.stdout); len(got) != 1 || fileHash(t, got[0]) != sum {
		t.Fatalf("bob saved %q: %s", got, r)
	}
	t.Logf("killed with %d of %d chunks on the node; the rerun began at %d%%", held, total, first)
}

func TestAFileReachesEveryDeviceOfTheRecipientAndTheSendersOtherDevice(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	d := newDevices(t, p, "alice", "bob")
	d.must("alice", "laptop", "register", "--name", "laptop")
	d.must("bob", "phone", "register", "--name", "phone")
	d.link("bob", "desk", "desk", "phone", "")
	d.link("alice", "tablet", "tablet", "laptop", "")
	src, sum := randomFile(t, t.TempDir(), "foto.jpg", 3<<20)
	d.must("alice", "laptop", "send", "--to", "bob", "--file", src)
	for _, dev := range []string{"phone", "desk"} {
		save := t.TempDir()
		out := d.must("bob", dev, "recv", "--save-dir", save)
		if got := savedPaths(out); len(got) != 1 || got[0] != filepath.Join(save, "foto.jpg") || fileHash(t, got[0]) != sum {
			t.Fatalf("bob's %s saved %q:\n%s", dev, got, out)
		}
	}
	// alice's other device sees what she sent, as her own line; it
	// downloads nothing.
	save := t.TempDir()
	out := d.must("alice", "tablet", "recv", "--save-dir", save)
	if !strings.Contains(out, "→ bob@"+domain1+": [file] foto.jpg (3.0 MiB") || len(savedPaths(out)) != 0 {
		t.Fatalf("alice's tablet printed:\n%s", out)
	}
}

func TestAFileSentToAGroupIsSavedByItsMembers(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	a := startRepl(t, newChanUser(t, p, "alice"))
	bob, carol := newChanUser(t, p, "bob"), newChanUser(t, p, "carol")
	a.expect("/cg ops", "[#ops] > ", replWait)
	a.expect("/invite bob", "invited bob to #ops", replWait)
	a.expect("/invite carol", "invited carol to #ops", replWait)
	for _, u := range []*chanUser{bob, carol} {
		u.must("", "recv", "--group", "ops")
		u.must("", "send", "--group", "ops", "hello from "+u.name)
	}
	src, sum := randomFile(t, t.TempDir(), "notes.pdf", 2<<20)
	if out := bob.must("", "send", "--group", "ops", "--file", src); !strings.Contains(out, "sent to #ops (3 members)") {
		t.Fatalf("bob's send --group --file: %q", out)
	}
	save := t.TempDir()
	deadline := time.Now().Add(replWait)
	var saved []string
	for len(saved) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("carol never saved bob's file")
		}
		out := carol.must("", "recv", "--group", "ops", "--save-dir", save)
		saved = savedPaths(out)
	}
	if len(saved) != 1 || fileHash(t, saved[0]) != sum {
		t.Fatalf("carol saved %q", saved)
	}
	a.waitFor("bob [file #", replWait)
	m := regexp.MustCompile(`bob \[file #(\d+)\] notes\.pdf`).FindStringSubmatch(a.capture())
	if m == nil {
		t.Fatalf("no file line on alice's screen:\n%s", a.capture())
	}
	dir := t.TempDir()
	a.send("/download " + m[1] + " " + dir)
	a.waitFor("saved "+filepath.Join(dir, "notes.pdf"), replWait)
	if fileHash(t, filepath.Join(dir, "notes.pdf")) != sum {
		t.Fatal("alice's copy differs")
	}
}

func TestAnInterruptedRecvSaveDirResumesTheDownload(t *testing.T) {
	t.Parallel()
	n := startFedNode(t, domain1, t.TempDir(), "127.0.0.1:0", fileFlags...)
	alice, bob := newCLIUser(t, "alice", plainCommand), newCLIUser(t, "bob", plainCommand)
	alice.mustRun("register", "--server", n.addr, "--pin", n.fp, "--username", "alice")
	bob.mustRun("register", "--server", n.addr, "--pin", n.fp, "--username", "bob")
	const size = 48 << 20
	src, sum := randomFile(t, t.TempDir(), "big.bin", size)
	alice.mustRun("send", "--to", "bob", "--file", src)

	save := t.TempDir()
	part := filepath.Join(save, "big.bin.qpcpart")
	cmd := exec.Command(qpcBin, "recv", "--password-file", bob.pwFile, "--state-dir", bob.state, "--save-dir", save)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the download's state says some chunks are written.
	deadline := time.Now().Add(cliTimeout)
	for {
		if fi, err := os.Stat(part + ".state"); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the download never recorded a chunk")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(save, "big.bin")); err == nil {
		t.Fatal("the download finished before it could be killed: nothing was resumed")
	}

	r := bob.mustRun("recv", "--save-dir", save)
	got := savedPaths(r.stdout)
	if len(got) != 1 || got[0] != filepath.Join(save, "big.bin") || fileHash(t, got[0]) != sum {
		t.Fatalf("after the kill, recv saved %q: %s", got, r)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	first := -1
	for sc.Scan() {
		if m := progressDone.FindStringSubmatch(sc.Text()); m != nil {
			first, _ = strconv.Atoi(m[1])
			break
		}
	}
	if first <= 0 {
		t.Fatalf("the second recv started from nothing (%d%%): not resumed\n%s", first, r)
	}
	if _, err := os.Stat(part); err == nil {
		t.Error("the part file is left after the download completed")
	}
	t.Logf("recv killed mid-download; the rerun began at %d%%", first)
}

// lastProgress is the last progress line of a command's stderr (with its
// rate), for the test's log.
func lastProgress(stderr string) string {
	last := ""
	for line := range strings.Lines(stderr) {
		if strings.Contains(line, "%") && strings.Contains(line, "[") {
			last = strings.TrimSpace(line)
		}
	}
	return last
}
