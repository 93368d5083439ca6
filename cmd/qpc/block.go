//go:build !router

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/cmd/qpc/internal/repl"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// blockJSON is what `qpc block [--remove] ADDR --json` prints.
type blockJSON struct {
	Address string `json:"address"`
	Blocked bool   `json:"blocked"`
	// Changed is false when the list was that way already.
	Changed bool `json:"changed"`
	// Devices is how many other devices of the account were sent the
	// list; Pending is set when they get it at the next connect.
	Devices int  `json:"devices"`
	Pending bool `json:"pending,omitempty"`
	// Node is what the home node's deny list did: "done", "not_asked"
	// (another domain), "shared_group" (not asked: you share a group),
	// "failed" (NodeError says why).
	Node      string `json:"node"`
	NodeError string `json:"node_error,omitempty"`
}

// nodeBlockWords names chat.NodeBlock in blockJSON.Node.
var nodeBlockWords = map[chat.NodeBlock]string{
	chat.NodeNotAsked: "not_asked", chat.NodeDone: "done", chat.NodeSharedGroup: "shared_group", chat.NodeFailed: "failed",
}

// blockListJSON is what `qpc block --list --json` prints.
type blockListJSON struct {
	// Blocked is the account's block list, the one every device applies.
	Blocked []string `json:"blocked"`
	// Node is the home node's deny list of the account; NodeError says
	// why it could not be read.
	Node      []string `json:"node"`
	NodeError string   `json:"node_error,omitempty"`
}

func runBlock(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("block", "[--remove] ADDRESS | --list [--json] [flags]\n\n"+
		"block an account: every device of yours drops its messages, invitations and channel posts, and your node\n"+
		"refuses its messages to you when it is a user of the same node (docs/blocking.md); --remove unblocks", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	remove := fs.Bool("remove", false, "unblock ADDRESS")
	list := fs.Bool("list", false, "print the block list (and the node's deny list of the account)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return parseError(err)
	}
	fail := func(err error, code int) int {
		printErr(stderr, "qpc block", err)
		if *asJSON {
			json.NewEncoder(stdout).Encode(map[string]string{"error": sayError(err)})
		}
		return code
	}
	switch {
	case *list && (len(pos) != 0 || *remove):
		return fail(fmt.Errorf("--list takes no address and no --remove"), exitUsage)
	case !*list && len(pos) != 1:
		return fail(fmt.Errorf("give one address to block (or --list)"), exitUsage)
	}
	if err := f.check(); err != nil {
		return fail(err, exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := f.login(ctx)
	if err != nil {
		return fail(err, exitFailure)
	}
	defer s.Close()
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		return fail(err, exitFailure)
	}
	defer eng.Close()
	if *list {
		l, err := eng.BlockList()
		if err != nil {
			return fail(err, exitFailure)
		}
		out := blockListJSON{Blocked: l.Blocked, Node: []string{}}
		if out.Blocked == nil {
			out.Blocked = []string{}
		}
		nctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		if nl, err := s.Account().Client.BlockedSenders(nctx); err != nil {
			out.NodeError = sayError(err)
		} else {
			out.Node = nl
		}
		printBlockList(stdout, out, *asJSON)
		return exitOK
	}
	bctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	res, err := eng.Block(bctx, pos[0], !*remove)
	if err != nil {
		return fail(err, exitFailure)
	}
	j := blockJSON{Address: res.Address, Blocked: !*remove, Changed: res.Changed, Devices: res.Devices,
		Pending: res.Pending, Node: nodeBlockWords[res.Node]}
	if res.NodeErr != nil {
		j.NodeError = sayError(res.NodeErr)
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(j)
		return exitOK
	}
	fmt.Fprintln(stdout, termtext.Safe(repl.BlockSummary(res, !*remove, sayError)))
	return exitOK
}

func printBlockList(w io.Writer, out blockListJSON, asJSON bool) {
	if asJSON {
		json.NewEncoder(w).Encode(out)
		return
	}
	if len(out.Blocked) == 0 {
		fmt.Fprintln(w, "nobody is blocked")
	}
	onNode := map[string]bool{}
	for _, a := range out.Node {
		onNode[a] = true
	}
	rows := [][]string{}
	for _, a := range out.Blocked {
		node := "-"
		if onNode[a] {
			node = "refused by your node"
		}
		rows = append(rows, []string{a, node})
	}
	if len(rows) > 0 {
		termtext.Table(w, append([][]string{{"BLOCKED", "NODE"}}, rows...))
	}
	if out.NodeError != "" {
		fmt.Fprintf(w, "(your node's deny list could not be read: %s)\n", termtext.Safe(out.NodeError))
	}
}

// reportJSON is what `qpc report --json` prints.
type reportJSON struct {
	Conversation string `json:"conversation"`
	// Message is the line's number in the conversation.
	Message uint64    `json:"message"`
	Sender  string    `json:"sender"`
	Time    time.Time `json:"time"`
	Text    string    `json:"text"`
}

func runReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", "--conversation NAME --message N [--note TEXT] [--json] [flags]\n\n"+
		"report a message to your node's admin, end-to-end encrypted to the admin's report key (docs/blocking.md)", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	conv := fs.String("conversation", "", "the conversation: @user, #group or a name")
	n := fs.Uint64("message", 0, "the line's number `N` in the conversation (#N in qpc repl's /history)")
	note := fs.String("note", "", "what the admin should know")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return parseError(err)
	}
	fail := func(err error, code int) int {
		printErr(stderr, "qpc report", err)
		if *asJSON {
			json.NewEncoder(stdout).Encode(map[string]string{"error": sayError(err)})
		}
		return code
	}
	if len(pos) != 0 || *conv == "" || *n == 0 {
		return fail(fmt.Errorf("give --conversation and --message (and --note), nothing else"), exitUsage)
	}
	if err := f.check(); err != nil {
		return fail(err, exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := f.login(ctx)
	if err != nil {
		return fail(err, exitFailure)
	}
	defer s.Close()
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		return fail(err, exitFailure)
	}
	defer eng.Close()
	c, err := eng.Find(*conv)
	if err != nil {
		return fail(err, exitFailure)
	}
	rctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	r, err := eng.Report(rctx, c.ID, *n, *note)
	if err != nil {
		return fail(err, exitFailure)
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(reportJSON{Conversation: r.Conversation, Message: r.Message.Seq, Sender: r.Message.From, Time: r.Message.Time.UTC(), Text: r.Message.Text})
		return exitOK
	}
	fmt.Fprintf(stdout, "reported to your node's admin: %s in %s: %s\n", termtext.Safe(r.Message.From), termtext.Safe(r.Conversation), termtext.Safe(r.Message.Text))
	return exitOK
}
