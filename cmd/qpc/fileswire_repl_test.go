package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestReplSendsAFileAndTheOtherDownloadsItWithProgress(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	a := startRepl(t, newChanUser(t, p, "alice"))
	bob := newChanUser(t, p, "bob")
	b := startRepl(t, bob)
	src, sum := randomFile(t, t.TempDir(), "plan.bin", 6<<20)

	a.expect("/dm bob", "[@bob@"+domain1+"] > ", replWait)
	a.send("/send-file " + src)
	a.waitFor("uploading plan.bin [", replWait)
	a.waitFor("100% 6.0 MiB/6.0 MiB", replWait)
	a.waitFor(" me [file #", replWait)

	b.expect("/dm alice", "[@alice@"+domain1+"] > ", replWait)
	b.waitFor("plan.bin (6.0 MiB, application/octet-stream) /download ", replWait)
	m := regexp.MustCompile(`alice \[file #(\d+)\] plan\.bin`).FindStringSubmatch(b.capture())
	if m == nil {
		t.Fatalf("no file line number on bob's screen:\n%s", b.capture())
	}
	dir := t.TempDir()
	b.send("/download " + m[1] + " " + dir)
	b.waitFor("downloading plan.bin [", replWait)
	b.waitFor("saved "+filepath.Join(dir, "plan.bin"), replWait)
	if fileHash(t, filepath.Join(dir, "plan.bin")) != sum {
		t.Fatal("bob's file differs from alice's")
	}
	// Again: a new name, and the history says where it went.
	b.send("/download " + m[1] + " " + dir)
	b.waitFor("saved "+filepath.Join(dir, "plan (2).bin"), replWait)
	b.expect("/history 3", "saved "+filepath.Join(dir, "plan (2).bin"), replWait)
	b.expect("/download 999", "no line 999", replWait)
	b.expect("/help", "/download <N> [dir]", replWait)
	if !strings.Contains(b.capture(), "/send-file <path>") {
		t.Errorf("/help does not list /send-file:\n%s", b.capture())
	}
	t.Logf("alice's screen:\n%s", a.capture())

	// Where it went is kept in the chat database: a new REPL shows it.
	b.send("/quit")
	b.waitFor("[exited 0]", replWait)
	b2 := startRepl(t, bob)
	b2.expect("/dm alice", "plan.bin (6.0 MiB, application/octet-stream) saved "+filepath.Join(dir, "plan (2).bin"), replWait)
}
