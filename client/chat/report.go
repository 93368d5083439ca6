package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/report"
)

// ErrNoSuchMessage means a line cannot be reported: the conversation has
// no line of that number, or it is the account's own, a system line or
// a deleted one.
var ErrNoSuchMessage = errors.New("no such message to report")

// Reported is a message Report handed to the node's admin.
type Reported struct {
	// Conversation is the label of its conversation.
	Conversation string
	Message      chatdb.Message
}

// Report hands the admin of the account's home node line seq of
// conversation conv (its #N in the history, as /edit numbers lines),
// written by someone else, with note: sealed to the node's report key
// (crypto/report), so that the node keeps it without reading it, and its
// admin reads it with qpc admin reports. client.ErrNoReports when the
// node takes none.
func (e *Engine) Report(ctx context.Context, conv chatdb.ConvID, seq uint64, note string) (Reported, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.conversation(conv)
	if err != nil {
		return Reported{}, err
	}
	var m chatdb.Message
	var ok bool
	err = e.db.View(func(tx *chatdb.Tx) (err error) {
		m, ok, err = tx.MessageAt(conv, seq)
		return err
	})
	switch {
	case err != nil:
		return Reported{}, err
	case !ok:
		return Reported{}, fmt.Errorf("%w: %s has no line #%d", ErrNoSuchMessage, Label(c), seq)
	case m.System || m.From == "" || m.Deleted:
		return Reported{}, fmt.Errorf("%w: line #%d of %s is no message of someone's (a system line, or deleted)", ErrNoSuchMessage, seq, Label(c))
	case m.From == e.self:
		return Reported{}, fmt.Errorf("%w: line #%d of %s is your own", ErrNoSuchMessage, seq, Label(c))
	}
	found := &m
	if !e.online {
		return Reported{}, ErrOffline
	}
	h, err := e.acct.Client.Health(ctx)
	if err != nil {
		return Reported{}, err
	}
	if len(h.ReportKey) == 0 {
		return Reported{}, client.ErrNoReports
	}
	text := found.Text
	if len(text) > report.MaxText {
		text = strings.ToValidUTF8(text[:report.MaxText], "")
	}
	sealed, err := report.Seal(h.ReportKey, report.Report{
		Reported:    e.now(),
		MessageID:   found.ID,
		MessageTime: found.Time,
		Reporter:    e.self,
		Sender:      found.From,
		Text:        text,
		Note:        note,
	})
	if err != nil {
		return Reported{}, err
	}
	if err := e.acct.Client.Report(ctx, sealed); err != nil {
		return Reported{}, err
	}
	return Reported{Conversation: Label(c), Message: *found}, nil
}
