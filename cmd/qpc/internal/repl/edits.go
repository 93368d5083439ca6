package repl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// /edit, /delete and /search (issue 30). A line is named by its number in
// its conversation's history: the N of "[file #N]", which /history shows
// before every line ("#N").

// searchLimit is how many hits /search shows, the newest.
const searchLimit = 20

// lineChanger edits and deletes the account's own lines, as the chat
// engine (*chat.Engine) does; an engine without it says so.
type lineChanger interface {
	Edit(ctx context.Context, conv chatdb.ConvID, seq uint64, text string) (chatdb.Message, error)
	Delete(ctx context.Context, conv chatdb.ConvID, seq uint64) (chatdb.Message, error)
}

// searcher searches the history, as the chat engine does.
type searcher interface {
	Search(query string, conv *chatdb.ConvID, limit int) ([]chat.Hit, error)
}

var (
	_ lineChanger = (*chat.Engine)(nil)
	_ searcher    = (*chat.Engine)(nil)
)

// lineNumber reads the N of /edit N and /delete N.
func lineNumber(cmd, arg string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(arg, "#"), 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("/%s: %q is no line number: /history shows them (#N)", cmd, termtext.Safe(arg))
	}
	return n, nil
}

func (r *REPL) cmdEdit(ctx context.Context, args []string) error {
	return r.changeLine(ctx, "edit", args)
}

func (r *REPL) cmdDelete(ctx context.Context, args []string) error {
	return r.changeLine(ctx, "delete", args)
}

// changeLine runs /edit N text and /delete N in the current conversation.
func (r *REPL) changeLine(ctx context.Context, cmd string, args []string) error {
	lc, ok := r.eng.(lineChanger)
	if !ok {
		return fmt.Errorf("/%s: not in this REPL", cmd)
	}
	n, err := lineNumber(cmd, args[0])
	if err != nil {
		return err
	}
	c, err := r.current()
	if err != nil {
		return err
	}
	var m chatdb.Message
	if cmd == "edit" {
		m, err = lc.Edit(ctx, c.ID, n, strings.Join(args[1:], " "))
	} else {
		m, err = lc.Delete(ctx, c.ID, n)
	}
	if errors.Is(err, chat.ErrOffline) {
		return fmt.Errorf("%w: the line has left already, so its %s needs the node; try again once online", err, cmd)
	}
	if err != nil {
		return err
	}
	r.noteChanged(m)
	r.Printf("%s", r.numberedLine(m))
	return nil
}

// changeKey is a line as a change left it.
type changeKey struct {
	id      chatdb.MsgID
	edited  int64
	deleted bool
}

// noteChanged records that this REPL printed m as its own /edit or
// /delete left it, so that the engine's report of the same change is not
// printed again (changedLine).
func (r *REPL) noteChanged(m chatdb.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changedHere == nil || len(r.changedHere) >= maxStates {
		r.changedHere = map[changeKey]bool{}
	}
	r.changedHere[changeKey{m.ID, m.Edited.UnixNano(), m.Deleted}] = true
}

func (r *REPL) cmdSearch(_ context.Context, args []string) error {
	s, ok := r.eng.(searcher)
	if !ok {
		return errors.New("/search: not in this REPL")
	}
	hits, err := s.Search(strings.Join(args, " "), nil, searchLimit)
	if err != nil {
		return err
	}
	if len(hits) == 0 {
		r.Printf("%s", r.io.Dim("-- nothing found --"))
		return nil
	}
	var b strings.Builder
	for i := len(hits) - 1; i >= 0; i-- { // oldest first, the newest by the prompt
		h := hits[i]
		fmt.Fprintf(&b, "%s %s\n", termtext.Safe(h.Label), r.numberedLine(h.Message))
	}
	more := ""
	if len(hits) == searchLimit {
		more = fmt.Sprintf(" (the newest %d; more words narrow it)", searchLimit)
	}
	fmt.Fprintf(&b, "%s", r.io.Dim(fmt.Sprintf("-- %d found%s --", len(hits), more)))
	r.Printf("%s", b.String())
	return nil
}

// numberedLine is a line as /history shows it: "#N" and the line.
func (r *REPL) numberedLine(m chatdb.Message) string {
	return r.io.Dim(fmt.Sprintf("#%d", m.Seq)) + " " + r.formatLine(m)
}

// changedLine tells of a line shown before that its author edited or
// deleted: under the current conversation the line again, as it is now;
// elsewhere a notice.
func (r *REPL) changedLine(ev chat.Event) {
	m := *ev.Message
	r.mu.Lock()
	k := changeKey{m.ID, m.Edited.UnixNano(), m.Deleted}
	printed := r.changedHere[k]
	delete(r.changedHere, k)
	r.mu.Unlock()
	if printed {
		return // this REPL's own /edit or /delete printed it
	}
	if cur, ok := r.currentID(); ok && cur == ev.Conv {
		r.Printf("%s", r.numberedLine(m))
		return
	}
	what := "edited"
	if m.Deleted {
		what = "deleted"
	}
	r.Printf("[%s] %s", termtext.Safe(ev.Label), r.io.Dim(fmt.Sprintf("-- %s %s line #%d --", r.who(m.From), what, m.Seq)))
}

// changeMark is what a line shows of its edits: "(edited)", or for a
// deleted line the whole of what is left of it.
func (r *REPL) changeMark(m chatdb.Message) string {
	switch {
	case m.Deleted:
		return r.io.Dim("(message deleted)")
	case !m.Edited.IsZero():
		return r.io.Dim("(edited)")
	}
	return ""
}
