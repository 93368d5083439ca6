//go:build !router

package main

import (
	"strings"
	"testing"
)

// What the REPL shows of a member coming and going (issue 24: "bob joined"
// before bob ran /join, and "bob was removed by you" after bob's /leave).
func TestReplGroupEventsSayWhatHappened(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	a := startRepl(t, newChanUser(t, p, "alice"))
	b := startRepl(t, newChanUser(t, p, "bob"))

	a.expect("/cg club", "[#club] > ", replWait)
	a.expect("/invite bob", "bob@"+domain1+" was added by you", replWait)
	b.waitFor("alice invited you to #club", replWait)
	if strings.Contains(a.capture(), "joined") {
		t.Fatalf("bob shown as joined before he ran /join:\n%s", a.capture())
	}
	b.expect("/join", "[#club] > ", replWait)
	b.send("hi club")
	a.waitFor("bob@"+domain1+" joined", replWait)
	a.waitFor(" bob hi club", replWait)

	b.expect("/leave", "left #club", replWait)
	a.waitFor("bob@"+domain1+" left", replWait)
	if strings.Contains(a.capture(), "was removed by") {
		t.Fatalf("bob's /leave shown as a removal:\n%s", a.capture())
	}
}
