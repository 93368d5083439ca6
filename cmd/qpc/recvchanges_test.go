//go:build !router

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
)

// The notices of edits and deletes print the author's text through
// termtext (an escape sequence in it is shown, not run), and --json
// gives each as an object with "change", a delete without text.
func TestChangeNoticesAreSafeAndTheirJSONIsItsOwnObject(t *testing.T) {
	sent, edited := time.Unix(1_800_000_000, 0), time.Unix(1_800_000_600, 0)
	ev := chat.Event{Label: "@mallory@x.example", Changed: true,
		Message: &chatdb.Message{Seq: 7, ID: chatdb.MsgID{0xab}, From: "mallory@x.example", Time: sent, Edited: edited, Text: "now \x1b[2Jclean"}}
	var b bytes.Buffer
	printChange(&b, ev, false)
	if out := b.String(); strings.Contains(out, "\x1b") || !strings.Contains(out, "-- mallory@x.example edited their line #7 of ") ||
		!strings.Contains(out, "in @mallory@x.example, now: now ") {
		t.Errorf("edit notice %q", out)
	}
	b.Reset()
	printChange(&b, ev, true)
	var j changeJSON
	if err := json.Unmarshal(b.Bytes(), &j); err != nil || j.Change != "edited" || j.Line != 7 || j.Text != "now \x1b[2Jclean" ||
		!j.Edited.Equal(edited) || !j.Time.Equal(sent) || !strings.HasPrefix(j.ID, "ab00") || j.Conversation != "@mallory@x.example" {
		t.Errorf("edit as JSON %s: %+v %v", b.String(), j, err)
	}

	del := *ev.Message
	del.Deleted, del.Text, del.Edited = true, "", time.Time{}
	ev.Message = &del
	b.Reset()
	printChange(&b, ev, false)
	if out := b.String(); !strings.Contains(out, "-- mallory@x.example deleted their line #7 of ") || strings.Contains(out, "now") {
		t.Errorf("delete notice %q", out)
	}
	b.Reset()
	printChange(&b, ev, true)
	var raw map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil || raw["change"] != "deleted" || raw["text"] != nil || raw["edited"] != nil {
		t.Errorf("delete as JSON %s (%v)", b.String(), err)
	}
}
