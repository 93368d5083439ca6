package repl

import (
	"context"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/repl/repltest"
)

// blockingEngine is the in-memory engine with a block list and reports
// kept in memory, for the REPL's side of /block, /unblock, /blocked and
// /report (the engine's own is tested in client/session).
type blockingEngine struct {
	*repltest.Engine
	list     chatdb.BlockList
	reported []string
}

func (e *blockingEngine) Block(_ context.Context, addr string, blocked bool) (chat.BlockResult, error) {
	if addr == "alice" {
		return chat.BlockResult{}, chat.ErrBlockSelf
	}
	addr += "@a.example"
	changed := e.list.Has(addr) != blocked
	e.list = e.list.With(addr, blocked)
	return chat.BlockResult{Address: addr, Changed: changed, Devices: 1, Node: chat.NodeSharedGroup}, nil
}

func (e *blockingEngine) BlockList() (chatdb.BlockList, error) { return e.list, nil }

func (e *blockingEngine) Report(_ context.Context, conv chatdb.ConvID, seq uint64, note string) (chat.Reported, error) {
	if seq > 1 {
		return chat.Reported{}, chat.ErrNoSuchMessage
	}
	e.reported = append(e.reported, note)
	return chat.Reported{Message: chatdb.Message{From: "mallory@a.example", Text: "spam\x1b[2J"}}, nil
}

func TestReplBlockUnblockBlockedAndReport(t *testing.T) {
	eng := &blockingEngine{Engine: repltest.New("alice@a.example")}
	sio := &scriptIO{}
	tr := &testRepl{t: t, eng: eng.Engine, io: sio, r: New(Config{Engine: eng, Label: repltest.Label, IO: sio})}
	out := tr.do("/blocked", "/block @mallory", "/block mallory", "/blocked", "/block alice")
	mustContain(t, out, "nobody is blocked",
		"blocked mallory@a.example; told your 1 other device(s); your node was not asked",
		"mallory@a.example was blocked already", "blocked: mallory@a.example", "you cannot block yourself")
	out = tr.do("/unblock mallory", "/blocked")
	mustContain(t, out, "unblocked mallory@a.example", "nobody is blocked")

	out = tr.do("/report 1 spam")
	mustContain(t, out, "no conversation") // none is current yet
	tr.do("/dm mallory")
	out = tr.do("/report #1 spam again", "/report 2", "/report x")
	mustContain(t, out, "reported to your node's admin: mallory@a.example: spam", "no such message", `/report: "x" is no line number`)
	if len(eng.reported) != 1 || eng.reported[0] != "spam again" {
		t.Errorf("reports %q; want one with the note", eng.reported)
	}
	if containsControl(out) {
		t.Errorf("a control character from the reported text was printed: %q", out)
	}
}

func TestReplBlockSaysSoWithoutABlockList(t *testing.T) {
	out := newTestRepl(t).do("/block mallory")
	mustContain(t, out, errNoBlocker.Error())
}

// containsControl reports whether s holds an escape character.
func containsControl(s string) bool {
	for _, r := range s {
		if r == 0x1b {
			return true
		}
	}
	return false
}
