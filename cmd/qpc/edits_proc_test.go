//go:build !router

package main

import (
	"encoding/json"
	"path/filepath"
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
	// copy on alice's desk) and shows no message for it: a change object
	// of its own.
	both(func() { recvBob, _, _ = d.run("bob", "bob", "recv", "--json") }, func() { recvDesk, _, _ = d.run("alice", "desk", "recv", "--json") })
	for who, out := range map[string]string{"bob": recvBob, "alice's desk": recvDesk} {
		ch := onlyChanges(t, who, out)
		if len(ch) != 1 || ch[0].Change != "edited" || ch[0].Text != "the picnic is at noon by the old oak" || ch[0].From != "alice@"+domain1 ||
			ch[0].Edited.IsZero() || ch[0].Line == 0 {
			t.Errorf("%s's recv --json after the edit: %+v", who, ch)
		}
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
	both(func() { recvBob, _, _ = d.run("bob", "bob", "recv") }, func() { recvDesk, _, _ = d.run("alice", "desk", "recv", "--json") })
	// Without --json, a notice; with it, a change object without text.
	if want := "-- alice@" + domain1 + " deleted their line #"; !strings.Contains(recvBob, want) || strings.Contains(recvBob, "oak") {
		t.Errorf("bob's recv after the delete printed %q, want %q", recvBob, want)
	}
	if ch := onlyChanges(t, "alice's desk", recvDesk); len(ch) != 1 || ch[0].Change != "deleted" || ch[0].Text != "" || !ch[0].Edited.IsZero() {
		t.Errorf("alice's desk's recv --json after the delete: %+v", ch)
	}
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

	// bob edits his own line; his transcript archive marks it edited
	// (with the edit's time) and alice's line deleted, without its text.
	theirLine := strconv.FormatUint(d.search("bob", "bob", "which")[0].Message, 10)
	d.must("bob", "bob", "edit", "--conversation", "@alice", "--message", theirLine, "which picnic, the one at noon?")
	pf := d.file("archive.pass", backupPassphrase+"\n")
	arch := filepath.Join(d.dir, "bob.qpcarchive")
	d.must("bob", "bob", "export", "--conversation", "alice", "--passphrase-file", pf, arch)
	out, errOut, err := d.verify(arch, "--passphrase-file", pf, "--json", "--show")
	var v exportJSON
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || !v.OK {
		t.Fatalf("export verify of bob's archive: %v\n%s%s", err, out, errOut)
	}
	var sawEdited, sawDeleted bool
	for _, l := range v.Lines {
		switch {
		case l.Deleted:
			sawDeleted = l.From == "alice@"+domain1 && l.Text == "" && l.Edited == 0
		case l.Edited != 0:
			sawEdited = l.From == "bob@"+domain1 && l.Text == "which picnic, the one at noon?"
		case strings.Contains(l.Text, "picnic"):
			t.Errorf("a line neither edited nor deleted: %+v", l)
		}
	}
	if !sawEdited || !sawDeleted {
		t.Errorf("bob's archive, edited %v, deleted %v: %+v", sawEdited, sawDeleted, v.Lines)
	}
	if out, _, err := d.verify(arch, "--passphrase-file", pf, "--show"); err != nil || !strings.Contains(out, "alice@"+domain1+": (deleted)") ||
		!strings.Contains(out, "which picnic, the one at noon? (edited ") || strings.Contains(out, "oak") {
		t.Errorf("export verify --show of bob's archive: %v\n%s", err, out)
	}
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}

// onlyChanges parses what qpc recv --json printed as change objects, and
// fails on any line that is not one (a message).
func onlyChanges(t *testing.T, who, out string) []changeJSON {
	t.Helper()
	var got []changeJSON
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var c changeJSON
		if err := json.Unmarshal([]byte(l), &c); err != nil || c.Change == "" {
			t.Errorf("%s: recv --json printed %q, not a change (%v)", who, l, err)
			continue
		}
		got = append(got, c)
	}
	return got
}
