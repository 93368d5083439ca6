package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

func TestStatusPrintsOneLinePerFederationLink(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var out bytes.Buffer
	printLinks(&out, []protocol.Link{
		{Domain: "n2.example.mesh", Address: "10.0.0.2:7000", State: protocol.LinkUp, Since: now.Add(-90 * time.Second), RelayedOut: 5, RelayedIn: 7},
		{Address: "10.0.0.9:7000", State: protocol.LinkDown, Errors: 3, LastError: "peer refused (unknown-ca)"},
	}, now)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two links, got:\n%s", out.String())
	}
	for i, want := range [][]string{
		{"federation", "address", "state", "last error"},
		{"n2.example.mesh", "10.0.0.2:7000", "up", "1m30s ago", "  5  ", "  7  "},
		{"(not reached yet)", "10.0.0.9:7000", "down", "  3  ", "unknown-ca"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	out.Reset()
	printLinks(&out, nil, now)
	if out.Len() != 0 {
		t.Errorf("without links, printed %q", out.String())
	}
}
