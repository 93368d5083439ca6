//go:build !router

package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// This file is the notices qpc recv prints when an edit or a delete of a
// line of the history arrives (issue 30): the line itself was shown by an
// earlier recv (or the REPL), so the change is told as its own line.

// changeJSON is one edit or delete in qpc recv --json: an object of its
// own, told from a message by its "change" key (docs/client.md).
type changeJSON struct {
	// Change is "edited" or "deleted".
	Change string `json:"change"`
	// Conversation is the conversation's label ("@bob@domain", "#club").
	Conversation string `json:"conversation"`
	// From is the line's author, who changed it.
	From string `json:"from"`
	// ID is the line's message id, as recv --json printed it (hex).
	ID string `json:"id"`
	// Line is the line's number in the conversation's history (qpc edit
	// --message N, /history).
	Line uint64 `json:"line"`
	// Time is when the line was first sent.
	Time time.Time `json:"time"`
	// Edited is the author's time of the edit; Text the new text. Both
	// are absent for a delete.
	Edited time.Time `json:"edited,omitzero"`
	Text   string    `json:"text,omitempty"`
}

// watchChanges has eng's edits and deletes printed on w as they are
// applied; nil eng does nothing.
func watchChanges(eng *chat.Engine, w io.Writer, asJSON bool) {
	if eng == nil {
		return
	}
	eng.OnChange(func(ev chat.Event) { printChange(w, ev, asJSON) })
}

// printChange prints the notice of one Changed event.
func printChange(w io.Writer, ev chat.Event, asJSON bool) {
	m := ev.Message
	if m == nil {
		return
	}
	if asJSON {
		j := changeJSON{Change: "edited", Conversation: ev.Label, From: m.From, ID: hex.EncodeToString(m.ID[:]), Line: m.Seq, Time: m.Time,
			Edited: m.Edited, Text: m.Text}
		if m.Deleted {
			j.Change, j.Edited, j.Text = "deleted", time.Time{}, ""
		}
		json.NewEncoder(w).Encode(j)
		return
	}
	at := m.Time.Local().Format("2006-01-02 15:04:05")
	if m.Deleted {
		fmt.Fprintf(w, "-- %s deleted their line #%d of %s in %s\n", termtext.Safe(m.From), m.Seq, at, termtext.Safe(ev.Label))
		return
	}
	fmt.Fprintf(w, "-- %s edited their line #%d of %s in %s, now: %s\n", termtext.Safe(m.From), m.Seq, at, termtext.Safe(ev.Label),
		termtext.Safe(lineText(m.Text)))
}
