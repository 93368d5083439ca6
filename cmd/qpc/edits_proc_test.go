//go:build !router

package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// searchJSON is what qpc search --json prints.
type searchJSON struct {
	Hits []lineJSON `json:"hits"`
}

// search runs qpc search --json as user on device.
func (d *devices) search(user, device string, args ...string) []lineJSON {
	d.t.Helper()
	out := d.must(user, device, append([]string{"search", "--json"}, args...)...)
	var got searchJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Hits == nil {
		d.t.Fatalf("%s on %s: search --json printed %q: %v", user, device, out, err)
	}
	return got.Hits
}

// both runs a and b at once: the commands of two machines, each a login.
func both(a, b func()) {
	var wg sync.WaitGroup
	wg.Go(a)
	wg.Go(b)
	wg.Wait()
}

// TestEditDeleteAndSearchFromTheCommandLine runs qpc edit, qpc delete and
// qpc search on a real node, in a DM of sealed messages (qpc send), with
// alice on two devices: the edit and the delete reach bob through his
// one-shot recv, and alice's second device through the sent copies.
func TestEditDeleteAndSearchFromTheCommandLine(t *testing.T) {
	t.Parallel()
	start := time.Now()
	p := startNodeProc(t, qpcBin)
	d := newDevices(t, p, "alice", "bob")
	both(func() { d.run("alice", "laptop", "register", "--name", "laptop") }, func() { d.run("bob", "bob", "register") })
	d.link("alice", "desk", "desk", "laptop", "")
	both(func() { d.run("alice", "laptop", "send", "--to", "bob", "the picnic is at noon by the old ork") },
		func() { d.run("bob", "bob", "send", "--to", "alice", "which picnic?") })
	var recvBob, recvDesk string
	both(func() { recvBob, _, _ = d.run("bob", "bob", "recv", "--json") }, func() { recvDesk, _, _ = d.run("alice", "desk", "recv", "--json") })
	if !strings.Contains(recvBob, "old ork") || !strings.Contains(recvDesk, "old ork") {
		t.Fatalf("the line before the edit: bob read %q, alice's desk %q", recvBob, recvDesk)
	}

	hits := d.search("alice", "laptop", "--conversation", "@bob", "PICNIC", "ork")
	if len(hits) != 1 || hits[0].From != "alice@"+domain1 || hits[0].Conversation != "@bob@"+domain1 {
		t.Fatalf("alice's search for her line: %+v", hits)
	}
	mine := strconv.FormatUint(hits[0].Message, 10)
	var edited lineJSON
	out := d.must("alice", "laptop", "edit", "--conversation", "@bob", "--message", mine, "--json", "the picnic is at noon by the old oak")
	if err := json.Unmarshal([]byte(out), &edited); err != nil || edited.Edited == 0 || edited.Text != "the picnic is at noon by the old oak" {
		t.Fatalf("qpc edit --json printed %q (%v)", out, err)
	}
	// The one-shot recv files the edit (from bob's peer, and as a sent
	// copy on alice's desk) and shows no line for it.
	both(func() { recvBob, _, _ = d.run("bob", "bob", "recv", "--json") }, func() { recvDesk, _, _ = d.run("alice", "desk", "recv", "--json") })
	if recvBob != "" || recvDesk != "" {
		t.Errorf("recv showed the edit as messages: bob %q, alice's desk %q", recvBob, recvDesk)
	}
	var bobHits, deskHits []lineJSON
	both(func() { bobHits = d.search("bob", "bob", "picnic", "noon") }, func() { deskHits = d.search("alice", "desk", "picnic", "noon") })
	for who, hits := range map[string][]lineJSON{"bob": bobHits, "alice's desk": deskHits} {
		if len(hits) != 1 || hits[0].Text != "the picnic is at noon by the old oak" || hits[0].Edited == 0 {
			t.Errorf("%s finds %+v, want the line edited", who, hits)
		}
	}
	if len(bobHits) != 1 {
		t.FailNow()
	}

	// bob cannot edit alice's line.
	theirs := strconv.FormatUint(bobHits[0].Message, 10)
	if out, errOut, err := d.run("bob", "bob", "edit", "--conversation", "@alice", "--message", theirs, "mine now"); err == nil || !strings.Contains(errOut, "that line is not yours") {
		t.Errorf("bob's qpc edit of alice's line: %v\n%s%s", err, out, errOut)
	}

	d.must("alice", "laptop", "delete", "--conversation", "@bob", "--message", mine)
	both(func() { d.run("bob", "bob", "recv") }, func() { d.run("alice", "desk", "recv") })
	// Without --json, a table; the deleted line is found nowhere.
	var bobOut string
	both(func() { bobOut, _, _ = d.run("bob", "bob", "search", "picnic") }, func() { deskHits = d.search("alice", "desk", "picnic") })
	if !strings.Contains(bobOut, "CONVERSATION") || !strings.Contains(bobOut, "which picnic?") || strings.Contains(bobOut, "noon") {
		t.Errorf("bob's qpc search after the delete printed\n%s", bobOut)
	}
	if len(deskHits) != 1 || deskHits[0].Text != "which picnic?" {
		t.Errorf("alice's desk finds after the delete: %+v", deskHits)
	}
	if out, errOut, err := d.run("alice", "laptop", "search"); err == nil || !strings.Contains(errOut, "WORDS are required") {
		t.Errorf("qpc search without words: %v\n%s%s", err, out, errOut)
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}
