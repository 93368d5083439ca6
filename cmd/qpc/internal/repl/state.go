package repl

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// An own line is printed once, with its delivery state as it was then:
// "(queued)", "(sent)", "(delivered)", "(read)". When the state moves on
// later (the node took a queued line, the recipient's node or device has
// it, they read it) and the line is in the current conversation, a status
// line under it says so: "-- delivered: hello bob --". A terminal's
// scrolled-off lines cannot be redrawn in place, so the change is told;
// /history shows every line in its state now.

// maxStates bounds the states remembered; beyond it the oldest line may
// have its change told twice, which is harmless.
const maxStates = 4096

// shownState records the state m was printed in.
func (r *REPL) shownState(m chatdb.Message) {
	if m.Status == chatdb.StatusNone {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.states == nil || len(r.states) >= maxStates {
		r.states = map[chatdb.MsgID]chatdb.Status{}
	}
	if m.Status > r.states[m.ID] {
		r.states[m.ID] = m.Status
	}
}

// stateChanged tells of an own line whose state moved past the one shown.
func (r *REPL) stateChanged(ev chat.Event) {
	m := *ev.Message
	r.mu.Lock()
	shown := r.states[m.ID]
	cur := r.hasCur && r.cur == ev.Conv
	r.mu.Unlock()
	if m.Status <= shown {
		return
	}
	r.shownState(m)
	if !cur {
		return // /switch shows the line in its state now
	}
	r.Printf("%s", r.io.Dim(fmt.Sprintf("-- %s: %s --", m.Status, termtext.Safe(excerpt(summaryText(m.Text), 40)))))
}

// excerpt is text cut to about n runes, marked when cut.
func excerpt(text string, n int) string {
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	rs := []rune(text)
	return string(rs[:n]) + "…"
}

// ReceiptSettings is what /receipts needs of the engine (*chat.Engine).
type ReceiptSettings interface {
	ReadReceipts() bool
	SetReadReceipts(on bool) error
}

var _ ReceiptSettings = (*chat.Engine)(nil)

// errNoReceiptSettings means the engine keeps no receipt settings.
var errNoReceiptSettings = errors.New("read receipts cannot be set here")

func (r *REPL) cmdReceipts(_ context.Context, args []string) error {
	rs, ok := r.eng.(ReceiptSettings)
	if !ok {
		return errNoReceiptSettings
	}
	if len(args) == 1 {
		switch args[0] {
		case "on", "off":
			if err := rs.SetReadReceipts(args[0] == "on"); err != nil {
				return err
			}
		default:
			return errors.New("usage: /receipts [on|off]")
		}
	}
	if rs.ReadReceipts() {
		r.Printf("read receipts are on: your DM peers see what you have read, and you see what they have")
	} else {
		r.Printf("read receipts are off: nobody sees what you have read, nor you what they have; /receipts on to change it")
	}
	return nil
}
