package repl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// Blocker is what /block, /unblock, /blocked and /report need of the
// engine (*chat.Engine): the block list and reports to the node's admin
// (docs/blocking.md).
type Blocker interface {
	Block(ctx context.Context, addr string, blocked bool) (chat.BlockResult, error)
	BlockList() (chatdb.BlockList, error)
	Report(ctx context.Context, conv chatdb.ConvID, seq uint64, note string) (chat.Reported, error)
}

var _ Blocker = (*chat.Engine)(nil)

// nodeCallTimeout bounds what /block and /report wait for the node, so
// that a node gone quiet does not hold the prompt.
const nodeCallTimeout = 15 * time.Second

// errNoBlocker means the engine keeps no block list.
var errNoBlocker = errors.New("blocking and reporting are not available here")

func (r *REPL) blocker() (Blocker, error) {
	b, ok := r.eng.(Blocker)
	if !ok {
		return nil, errNoBlocker
	}
	return b, nil
}

func (r *REPL) cmdBlock(ctx context.Context, args []string) error { return r.block(ctx, args[0], true) }

func (r *REPL) cmdUnblock(ctx context.Context, args []string) error {
	return r.block(ctx, args[0], false)
}

func (r *REPL) block(ctx context.Context, user string, blocked bool) error {
	b, err := r.blocker()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, nodeCallTimeout)
	defer cancel()
	res, err := b.Block(ctx, strings.TrimPrefix(user, "@"), blocked)
	if err != nil {
		return err
	}
	r.Printf("%s", termtext.Safe(BlockSummary(res, blocked, errorText)))
	return nil
}

// errorText words an error for BlockSummary in the REPL.
func errorText(err error) string { return err.Error() }

// BlockSummary says in one line what a block or unblock did; sayError
// words the node's error.
func BlockSummary(res chat.BlockResult, blocked bool, sayError func(error) string) string {
	verb := "blocked"
	if !blocked {
		verb = "unblocked"
	}
	if !res.Changed {
		return fmt.Sprintf("%s was %s already", res.Address, verb)
	}
	s := fmt.Sprintf("%s %s", verb, res.Address)
	switch {
	case res.Pending:
		s += "; your other devices learn it when you are next online"
	case res.Devices > 0:
		s += fmt.Sprintf("; told your %d other device(s)", res.Devices)
	}
	switch res.Node {
	case chat.NodeDone:
		s += "; your node's deny list is updated"
	case chat.NodeSharedGroup:
		s += "; your node was not asked to refuse their messages, since you share a group with them (it would refuse their group changes too)"
	case chat.NodeFailed:
		s += "; your node's deny list is not updated: " + sayError(res.NodeErr)
	}
	return s
}

func (r *REPL) cmdBlocked(context.Context, []string) error {
	b, err := r.blocker()
	if err != nil {
		return err
	}
	l, err := b.BlockList()
	if err != nil {
		return err
	}
	if len(l.Blocked) == 0 {
		r.Printf("nobody is blocked")
		return nil
	}
	r.Printf("blocked: %s", termtext.Safe(strings.Join(l.Blocked, ", ")))
	return nil
}

func (r *REPL) cmdReport(ctx context.Context, args []string) error {
	n, err := strconv.ParseUint(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || n == 0 {
		return fmt.Errorf("/report: %q is no line number: /history shows them (#N)", termtext.Safe(args[0]))
	}
	b, err := r.blocker()
	if err != nil {
		return err
	}
	c, err := r.current()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, nodeCallTimeout)
	defer cancel()
	rep, err := b.Report(ctx, c.ID, n, strings.Join(args[1:], " "))
	if err != nil {
		return err
	}
	r.Printf("reported to your node's admin: %s: %s", termtext.Safe(rep.Message.From), termtext.Safe(excerpt(rep.Message.Text, 60)))
	return nil
}
