package repl

import (
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
)

// drain reads what the fake engine reported, as printEvents would.
func (tr *testRepl) drain() {
	for len(tr.eng.Events()) > 0 {
		tr.r.event(<-tr.eng.Events())
	}
	tr.io.output()
}

func TestAnOwnLineWhoseStateMovesOnIsToldOnceInTheCurrentConversation(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob")
	tr.eng.Queue = true
	mustContain(t, tr.do("typed offline\x1b[2J"), " me typed offline\ufffd[2J (queued)")
	tr.drain()
	dm, err := tr.eng.Find("@bob")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := tr.eng.History(dm.ID, 1)
	if err != nil || len(hist) != 1 {
		t.Fatal(hist, err)
	}
	changed := func(m chatdb.Message, st chatdb.Status, conv chatdb.ConvID) string {
		m.Status = st
		tr.r.event(chat.Event{Conv: conv, Message: &m, StateChange: true})
		return tr.io.output()
	}
	m := hist[0]
	if out := changed(m, chatdb.StatusDelivered, dm.ID); !strings.Contains(out, "-- delivered: typed offline\ufffd[2J --") {
		t.Errorf("delivered after queued printed %q", out)
	}
	if out := changed(m, chatdb.StatusDelivered, dm.ID); out != "" {
		t.Errorf("the same state again printed %q", out)
	}
	if out := changed(m, chatdb.StatusSent, dm.ID); out != "" {
		t.Errorf("an older state printed %q", out)
	}
	if out := changed(m, chatdb.StatusRead, dm.ID); !strings.Contains(out, "-- read: typed offline") {
		t.Errorf("read after delivered printed %q", out)
	}
	// Another conversation's line: /switch shows its state, nothing now.
	other := m
	other.ID[0] = 1
	if out := changed(other, chatdb.StatusDelivered, chatdb.ConvID{9}); out != "" {
		t.Errorf("a line of another conversation printed %q", out)
	}
	// A long line is cut in the status line.
	long := strings.Repeat("x", 100)
	if got := excerpt(long, 40); got != strings.Repeat("x", 40)+"…" {
		t.Errorf("excerpt %q", got)
	}
}

func TestReceiptsSaysItCannotBeSetWithoutTheEngineSetting(t *testing.T) {
	tr := newTestRepl(t)
	if err := tr.r.handle(t.Context(), "/receipts on"); err == nil || !strings.Contains(err.Error(), "cannot be set") {
		t.Errorf("/receipts on an engine without the setting: %v", err)
	}
}
