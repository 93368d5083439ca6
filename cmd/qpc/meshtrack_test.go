package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

func TestMessageIDsAre64HexDigits(t *testing.T) {
	id := strings.Repeat("ab", 32)
	ids, err := parseMeshIDs([]string{id, strings.ToUpper(id)})
	if err != nil || len(ids) != 2 || hex.EncodeToString(ids[1][:]) != id {
		t.Fatalf("parseMeshIDs(%s) = %x, %v", id, ids, err)
	}
	for _, bad := range []string{"abc", id[:62], id + "ab", strings.Repeat("zz", 32)} {
		if _, err := parseMeshIDs([]string{id, bad}); err == nil || !strings.Contains(err.Error(), "64 hex digits") || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: err = %v, want one that names it and says 64 hex digits", bad, err)
		}
	}
	if _, err := parseMeshIDs(nil); err == nil {
		t.Error("no ids at all were accepted")
	}
}

func TestFlagsMayComeAfterTheIDs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		rest []string
		json bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, false},
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true},
		{[]string{"--json", "a"}, []string{"a"}, true},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		asJSON := fs.Bool("json", false, "")
		rest, err := parseInterspersed(fs, tt.args)
		if err != nil || !reflect.DeepEqual(rest, tt.rest) || *asJSON != tt.json {
			t.Errorf("%q: rest %q json %v (%v), want %q json %v", tt.args, rest, *asJSON, err, tt.rest, tt.json)
		}
	}
}

func TestMeshTrackPrintsStateWhereWhenAndWhy(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var id1, id2, id3 protocol.MeshID
	id1[0], id2[0], id3[0] = 0x11, 0x22, 0x33
	var out, errOut bytes.Buffer
	printStatuses(&out, &errOut, []protocol.MessageStatus{
		{ID: id1, State: protocol.MeshForwarded, At: "b.mesh", Updated: now.Add(-12 * time.Second), Recipient: "bob@d.mesh", Expires: now.Add(50 * time.Hour)},
		{ID: id2, State: protocol.MeshDropped, At: "c.mesh", Updated: now.Add(-2 * time.Hour), Recipient: "eve@e.mesh", Expires: now.Add(-time.Minute), Reason: protocol.ErrHopLimit},
		{ID: id3},
	}, now)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and three lines, got:\n%s", out.String())
	}
	for i, want := range [][]string{
		{"ID", "STATE", "AT", "UPDATED", "RECIPIENT", "EXPIRES", "REASON"},
		{hex.EncodeToString(id1[:]) + " ", "forwarded", "b.mesh", "12s ago", "bob@d.mesh", "in 2d2h"},
		{hex.EncodeToString(id2[:]) + " ", "dropped", "c.mesh", "2h0m ago", "1m0s ago", "hop limit"},
		{hex.EncodeToString(id3[:]) + " ", "unknown", "-"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	// What the table shows is what mesh track takes.
	if ids, err := parseMeshIDs([]string{strings.Fields(lines[1])[0]}); err != nil || ids[0] != id1 {
		t.Errorf("the id the table shows is not taken back: %v", err)
	}
	if !strings.Contains(errOut.String(), "unknown: ") {
		t.Errorf("an unknown id went unexplained: stderr %q", errOut.String())
	}
}

func TestMeshTrackJSONNamesTheStateAndReason(t *testing.T) {
	var id protocol.MeshID
	id[31] = 1
	j := messageStatusJSON(protocol.MessageStatus{ID: id, State: protocol.MeshExpired, At: "b.mesh", Updated: time.UnixMilli(5), Reason: protocol.ErrExpired})
	b, _ := json.Marshal(j)
	want := `{"id":"` + hex.EncodeToString(id[:]) + `","state":"expired","at":"b.mesh","updated_ms":5,"reason":"` + protocol.ErrExpired.Error() + `"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
