package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The REPL's terminal UI in a real terminal (tmux), on the in-memory
// engine: this test binary runs as the REPL (fakeReplEnv, TestMain).

// termWait bounds waiting for the screen of a REPL without a node.
const termWait = 10 * time.Second

func startFakeRepl(t *testing.T) *tmuxSession {
	t.Helper()
	s := startTmux(t, "alice", []string{os.Args[0]}, fakeReplEnv+"=1")
	s.waitFor("[no conversation] > ", termWait)
	return s
}

func TestReplTerminalShowsThePromptExplainsMistakesAndQuitsRestoringTheTerminal(t *testing.T) {
	t.Parallel()
	s := startFakeRepl(t)
	s.expect("/help", "/create-group, /cg <name>", termWait)
	s.expect("/foo", "unknown command /foo (try /help)", termWait)
	s.expect("/invite", "usage: /invite <user>", termWait)
	s.expect("hello", "no conversation: /dm <user> or /cg <name> first", termWait)
	s.expect("/quit", "[exited 0]", termWait)
	s.waitFor("[tty icanon echo]", termWait)
}

func TestReplTerminalCtrlCClearsTheLineAndCtrlDEnds(t *testing.T) {
	t.Parallel()
	s := startFakeRepl(t)
	s.typeText("half a thought")
	s.waitFor("> half a thought", termWait)
	s.keys("C-c")
	s.expect("/ls", "no conversations yet", termWait)
	if strings.Contains(s.capture(), "half a thought/ls") {
		t.Fatalf("Ctrl-C did not clear the line:\n%s", s.capture())
	}
	s.keys("C-d")
	s.waitFor("[exited 0]", termWait)
	s.waitFor("[tty icanon echo]", termWait)
}

func TestReplTerminalPrintsIncomingLinesAboveTheLineBeingTyped(t *testing.T) {
	t.Parallel()
	s := startFakeRepl(t)
	s.expect("/dm bob", "[@bob@a.example] > ", termWait)
	s.expect("hello bob", " me hello bob", termWait)
	s.typeText("a draft") // the fake bob answers a second later
	s.waitFor(" bob echo: hello bob", termWait)
	if last := s.lastLine(); last != "[@bob@a.example] > a draft" {
		t.Errorf("last line %q, want the prompt with the draft; the screen:\n%s", last, s.capture())
	}
	if n := s.count(" me hello bob"); n != 1 {
		t.Errorf("own line shown %d times:\n%s", n, s.capture())
	}
	// Up brings back the line sent before.
	s.keys("C-c", "Up")
	s.waitFor("> hello bob", termWait)
}
