package main

import (
	"fmt"
	"io"
	"time"

	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// ktJSON is the key transparency part of `qpc status --json`.
type ktJSON struct {
	// Size is the node's log's size; absent when the node keeps none.
	Size *uint64 `json:"size,omitempty"`
	// Evidence is what the node holds against misbehaving logs.
	Evidence []ktEvidenceJSON `json:"evidence"`
}

// ktEvidenceJSON is one piece of evidence in `qpc status --json`.
type ktEvidenceJSON struct {
	Domain      string `json:"domain"`
	Reason      string `json:"reason"`
	FoundMillis int64  `json:"found_ms"`
	ReportedBy  string `json:"reported_by"`
}

// ktStatus reads the key transparency part of a health answer: the log's
// size (nil when the node sent no head it can parse) and the evidence.
func ktStatus(h protocol.Health) ktJSON {
	var out ktJSON
	if sh, err := kt.ParseSignedHead(h.KTHead); err == nil {
		out.Size = &sh.Size
	}
	out.Evidence = []ktEvidenceJSON{}
	for _, e := range h.KTEvidence {
		out.Evidence = append(out.Evidence, ktEvidenceJSON{Domain: e.Domain, Reason: e.Reason,
			FoundMillis: e.Found.UnixMilli(), ReportedBy: e.ReportedBy})
	}
	return out
}

// printKT prints the log's size and, as a table, the evidence the node
// holds: a person who sees a row knows that a node showed two histories
// of its key directory.
func printKT(w io.Writer, h protocol.Health, now time.Time) {
	s := ktStatus(h)
	if s.Size != nil {
		fmt.Fprintf(w, "key log      %d entries\n", *s.Size)
	} else {
		fmt.Fprintln(w, "key log      none")
	}
	if len(s.Evidence) == 0 {
		fmt.Fprintln(w, "key log evidence  none")
		return
	}
	fmt.Fprintf(w, "\nWARNING: %d piece(s) of evidence that a node's key log misbehaves (it showed two histories):\n", len(s.Evidence))
	rows := [][]string{{"domain", "reason", "found", "reported by"}}
	for _, e := range h.KTEvidence {
		found := "-"
		if !e.Found.IsZero() {
			found = now.Sub(e.Found).Truncate(time.Second).String() + " ago"
		}
		rows = append(rows, []string{termtext.Safe(e.Domain), termtext.Safe(e.Reason), found, termtext.Safe(e.ReportedBy)})
	}
	printTable(w, rows)
}
