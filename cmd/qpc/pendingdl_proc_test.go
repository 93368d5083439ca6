package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/cmd/qpc/internal/repl"
)

// stop ends the node with SIGTERM, so that its federation links close
// and the peer knows at once that it is gone.
func (n *fedNode) stop(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := <-n.done
	n.done <- err // for the cleanup
}

// A file line that arrives while the sender's node is out of reach is
// kept pending, and the next qpc recv --save-dir saves it once the node
// is back: under the name chosen the first time, hash equal, once.
func TestAFileWhoseSendersNodeIsDownIsSavedByTheNextRecvWhenItIsBack(t *testing.T) {
	t.Parallel()
	testPendingDownload(t, false)
}

// The same with qpc recv --follow --save-dir after n1 is back: it tries
// the pending file when it connects, without a new message.
func TestAFileWhoseSendersNodeIsDownIsSavedByRecvFollowWhenItIsBack(t *testing.T) {
	t.Parallel()
	testPendingDownload(t, true)
}

func testPendingDownload(t *testing.T, follows bool) {
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	flags := federationFlags(t, d1, d2)
	n2 := startFedNode(t, d2, t.TempDir(), "127.0.0.1:0", append(flags[d2], fileFlags...)...)
	dir1 := t.TempDir()
	n1Flags := append(append(append([]string{}, flags[d1]...), fileFlags...), "--peer", n2.addr)
	n1 := startFedNode(t, d1, dir1, "127.0.0.1:0", n1Flags...)
	if _, ok := linkEvent(t, n1.logProc, 0, 30*time.Second, "federation link up", d2); !ok {
		t.Fatalf("n1 did not link to n2; n1:\n%s\nn2:\n%s", n1.Logs(), n2.Logs())
	}
	alice, bob := registerPair(t, n1, n2)
	// A message is verified by asking the sender's node for her keys,
	// which a client keeps only while it runs: so bob follows, hears from
	// alice while n1 is up, and is frozen while the file line comes and
	// n1 stops; thawed, he verifies the line from what he kept and finds
	// the blob out of reach.
	save := t.TempDir()
	follow := startLogProc(t, exec.Command(qpcBin, "recv", "--follow", "--save-dir", save, "--password-file", bob.pwFile, "--state-dir", bob.state))
	alice.send("bob@"+d2, "a file follows")
	waitText(t, follow, "a file follows")
	if err := follow.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	src, sum := randomFile(t, t.TempDir(), "plan.bin", 3<<20)
	alice.mustRun("send", "--to", "bob@"+d2, "--file", src)
	mark := n2.mark()
	n1.stop(t)
	if _, ok := linkEvent(t, n2.logProc, mark, 30*time.Second, "federation link down", d1); !ok {
		t.Fatalf("n2 did not see the link to n1 go; n2:\n%s", n2.Logs())
	}
	if err := follow.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitText(t, follow, "plan.bin from alice@"+d1+" waits for its sender's node "+d1)
	if len(savedPaths(follow.Logs())) != 0 {
		t.Fatalf("the follower saved a file from a node that is down:\n%s", follow.Logs())
	}
	// The follower ends; the pending record in bob's chat database is
	// what keeps the file (its message is acknowledged on n2).
	follow.cmd.Process.Signal(syscall.SIGTERM)
	err := <-follow.done
	follow.done <- err

	// Still down: the next run says it still waits.
	r := bob.mustRun("recv", "--save-dir", save)
	if !strings.Contains(r.stderr, "plan.bin still waits for "+d1) || len(savedPaths(r.stdout)) != 0 || strings.Contains(r.stdout, "[file]") {
		t.Fatalf("a recv with n1 still down: %s", r)
	}

	mark = n2.mark()
	n1 = startFedNode(t, d1, dir1, n1.addr, n1Flags...)
	if _, ok := linkEvent(t, n2.logProc, mark, 60*time.Second, "federation link up", d1); !ok {
		t.Fatalf("n2 did not link to the restarted n1; n1:\n%s\nn2:\n%s", n1.Logs(), n2.Logs())
	}
	want := filepath.Join(save, "plan.bin")
	if follows {
		follow := startLogProc(t, exec.Command(qpcBin, "recv", "--follow", "--save-dir", save, "--password-file", bob.pwFile, "--state-dir", bob.state))
		waitText(t, follow, "  saved to "+want)
		if got := savedPaths(follow.Logs()); len(got) != 1 || fileHash(t, want) != sum || !strings.Contains(follow.Logs(), "plan.bin from "+d1+", which waited for its node") {
			t.Fatalf("recv --follow after n1 came back saved %q:\n%s", got, follow.Logs())
		}
		follow.cmd.Process.Signal(syscall.SIGTERM)
		err := <-follow.done
		follow.done <- err
	} else {
		r = bob.mustRun("recv", "--save-dir", save)
		got := savedPaths(r.stdout)
		if len(got) != 1 || got[0] != want || fileHash(t, got[0]) != sum || !strings.Contains(r.stdout, "plan.bin from "+d1+", which waited for its node") {
			t.Fatalf("recv after n1 came back saved %q: %s", got, r)
		}
	}
	// Saved once: nothing waits any more, and no second copy appears.
	r = bob.mustRun("recv", "--save-dir", save)
	if len(savedPaths(r.stdout)) != 0 || strings.Contains(r.stderr, "waits") {
		t.Fatalf("a recv after the file was saved: %s", r)
	}
	if es, _ := os.ReadDir(save); len(es) != 1 {
		t.Fatalf("the save dir holds %d entries, want the one file", len(es))
	}
}

// waitText polls p's output for text, with a deadline.
func waitText(t *testing.T, p *logProc, text string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.Logs(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", text, p.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// In the REPL, a /download whose sender's node is down waits, and the
// file is saved once the node is back without typing /download again.
func TestReplSavesAWaitingDownloadWhenTheSendersNodeIsBack(t *testing.T) {
	t.Parallel()
	needTmux(t)
	const d1, d2 = "n1.example.mesh", "n2.example.mesh"
	flags := federationFlags(t, d1, d2)
	n2 := startFedNode(t, d2, t.TempDir(), "127.0.0.1:0", append(flags[d2], fileFlags...)...)
	dir1 := t.TempDir()
	n1Flags := append(append(append([]string{}, flags[d1]...), fileFlags...), "--peer", n2.addr)
	n1 := startFedNode(t, d1, dir1, "127.0.0.1:0", n1Flags...)
	if _, ok := linkEvent(t, n1.logProc, 0, 30*time.Second, "federation link up", d2); !ok {
		t.Fatalf("n1 did not link to n2; n1:\n%s\nn2:\n%s", n1.Logs(), n2.Logs())
	}
	alice, bob := registerPair(t, n1, n2)
	b := startRepl(t, &chanUser{t: t, name: "bob", pw: bob.pwFile, state: bob.state})
	b.expect("/dm alice@"+d1, "[@alice@"+d1+"] > ", replWait)
	src, sum := randomFile(t, t.TempDir(), "plan.bin", 3<<20)
	alice.mustRun("send", "--to", "bob@"+d2, "--file", src)
	b.waitFor("plan.bin (3.0 MiB, application/octet-stream) /download ", replWait)
	m := regexp.MustCompile(`alice\S* \[file #(\d+)\] plan\.bin`).FindStringSubmatch(b.capture())
	if m == nil {
		t.Fatalf("no file line number on bob's screen:\n%s", b.capture())
	}

	mark := n2.mark()
	n1.stop(t)
	if _, ok := linkEvent(t, n2.logProc, mark, 30*time.Second, "federation link down", d1); !ok {
		t.Fatalf("n2 did not see the link to n1 go; n2:\n%s", n2.Logs())
	}
	dir := t.TempDir()
	b.send("/download " + m[1] + " " + dir)
	b.waitFor("plan.bin waits for its sender's node "+d1, replWait)
	want := filepath.Join(dir, "plan.bin")
	if _, err := os.Stat(want); err == nil {
		t.Fatal("a file was saved from a node that is down")
	}

	mark = n2.mark()
	startFedNode(t, d1, dir1, n1.addr, n1Flags...)
	if _, ok := linkEvent(t, n2.logProc, mark, 60*time.Second, "federation link up", d1); !ok {
		t.Fatalf("n2 did not link to the restarted n1; n2:\n%s", n2.Logs())
	}
	// Within the REPL's retry period, with nothing typed.
	b.waitFor("saved "+want+" (it waited for its sender's node "+d1+")", repl.PendingRetry+replWait)
	if fileHash(t, want) != sum {
		t.Fatal("bob's file differs from alice's")
	}
}
