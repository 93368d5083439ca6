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

// MaxReportBack is how far back from the newest line Report looks for
// the message to report.
const MaxReportBack = 1000

// ErrNoSuchMessage means a conversation has no n-th message from someone
// else (counting back from the newest).
var ErrNoSuchMessage = errors.New("no such message")

// Reported is a message Report handed to the node's admin.
type Reported struct {
	// Conversation is the label of its conversation.
	Conversation string
	Message      chatdb.Message
}

// Report hands the admin of the account's home node the n-th newest
// message of conversation conv written by someone else (1 is the newest),
// with note: sealed to the node's report key (crypto/report), so that the
// node keeps it without reading it, and its admin opens it with qpc admin
// reports. client.ErrNoReports when the node takes none.
func (e *Engine) Report(ctx context.Context, conv chatdb.ConvID, n int, note string) (Reported, error) {
	if n < 1 || n > MaxReportBack {
		return Reported{}, fmt.Errorf("%w: message %d (1 is the newest from someone else, at most %d back)", ErrNoSuchMessage, n, MaxReportBack)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.conversation(conv)
	if err != nil {
		return Reported{}, err
	}
	var msgs []chatdb.Message
	err = e.db.View(func(tx *chatdb.Tx) (err error) {
		msgs, err = tx.Messages(conv, MaxReportBack)
		return err
	})
	if err != nil {
		return Reported{}, err
	}
	var found *chatdb.Message
	seen := 0
	for i := len(msgs) - 1; i >= 0 && found == nil; i-- {
		m := msgs[i]
		if m.System || m.From == "" || m.From == e.self {
			continue
		}
		if seen++; seen == n {
			found = &msgs[i]
		}
	}
	if found == nil {
		return Reported{}, fmt.Errorf("%w: %s has %d messages from others, not %d", ErrNoSuchMessage, Label(c), seen, n)
	}
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
