package repl

import (
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
)

func TestReplEditsAndDeletesOwnLinesByTheirNumber(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob", "the picnic is at noon by the old ork", "bring lemonade")
	ev := tr.eng.Receive(tr.r.cur, "bob@a.example", "see you there")
	tr.r.event(ev)
	out := tr.do("/history")
	mustContain(t, out, "#1 ", "#2 ", "#3 ")
	mustContain(t, tr.do("/edit 1 the picnic is at noon by the old oak"), "#1 ", "me the picnic is at noon by the old oak (edited)")
	mustContain(t, tr.do("/delete #2"), "#2 ", "me (message deleted)")
	out = tr.do("/history")
	mustContain(t, out, "old oak (edited)", "(message deleted)")
	if strings.Contains(out, "lemonade") || strings.Contains(out, "old ork") {
		t.Errorf("/history after the edit and the delete:\n%s", out)
	}
	mustContain(t, tr.do("/edit 3 not mine"), "only your own messages can be edited or deleted")
	mustContain(t, tr.do("/delete 2"), "the message was deleted")
	mustContain(t, tr.do("/delete 9"), "no such line")
	mustContain(t, tr.do("/delete x"), `"x" is no line number`)
	mustContain(t, tr.do("/edit 1"), "usage: /edit <N> <text>")
}

func TestReplShowsALineItsAuthorChanged(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob")
	dm := tr.r.cur
	tr.r.event(tr.eng.Receive(dm, "bob@a.example", "metting at 5"))
	tr.io.output()
	tr.r.event(tr.eng.Changed(dm, 1, "meeting at 5"))
	mustContain(t, tr.io.output(), "#1 ", "bob meeting at 5 (edited)")
	// Elsewhere, a notice names the conversation and the line.
	tr.do("/cg friends")
	tr.io.output()
	tr.r.event(tr.eng.Changed(dm, 1, ""))
	mustContain(t, tr.io.output(), "[@bob@a.example]", "bob deleted line #1")
}

func TestReplSearchFindsLinesOfEveryConversation(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob", "Lunch at the harbour?", "/cg friends", "the harbour cafe is closed", "something else")
	out := tr.do("/search HARBOUR")
	mustContain(t, out, "@bob@a.example #1 ", "Lunch at the harbour?", "#friends #1 ", "the harbour cafe is closed", "2 found")
	if strings.Contains(out, "something else") {
		t.Errorf("/search harbour:\n%s", out)
	}
	mustContain(t, tr.do("/search harbour cafe"), "1 found")
	mustContain(t, tr.do("/search pier"), "nothing found")
	mustContain(t, tr.do("/search"), "usage: /search <words>")
}

func TestReplPrintsItsOwnEditOnceThoughTheEngineReportsItToo(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob", "helo")
	tr.drain()
	tr.do("/edit 1 hello")
	h, err := tr.eng.History(tr.r.cur, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := h[0]
	tr.r.event(chat.Event{Conv: tr.r.cur, Label: "@bob@a.example", Message: &m, Changed: true})
	if out := tr.io.output(); strings.Count(out, "me hello (edited)") != 0 {
		t.Errorf("the engine's report of the REPL's own edit printed again:\n%s", out)
	}
	// The same line edited on another device of alice's is shown.
	ev := tr.eng.Changed(tr.r.cur, 1, "hello again")
	tr.r.event(ev)
	mustContain(t, tr.io.output(), "me hello again (edited)")
}
