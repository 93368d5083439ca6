//go:build !router

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// qpc edit and qpc delete (issue 30): the one-shot twins of the REPL's
// /edit N and /delete N, on the same chat engine and database. A line is
// named by its conversation and its number there, which qpc search --json
// (and the REPL's /history) shows.

// lineJSON is a line in the --json output of qpc edit, qpc delete and qpc
// search.
type lineJSON struct {
	Conversation string `json:"conversation"`
	// Message is the line's number in its conversation (--message).
	Message uint64 `json:"message"`
	ID      string `json:"id"`
	From    string `json:"from"`
	// Time is the sender's, Unix seconds; Edited the last edit's (0:
	// never).
	Time    int64  `json:"time"`
	Text    string `json:"text"`
	Edited  int64  `json:"edited,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

func toLineJSON(label string, m chatdb.Message) lineJSON {
	j := lineJSON{Conversation: label, Message: m.Seq, ID: hex.EncodeToString(m.ID[:]), From: m.From, Time: m.Time.Unix(), Text: m.Text, Deleted: m.Deleted}
	if !m.Edited.IsZero() {
		j.Edited = m.Edited.Unix()
	}
	return j
}

func runEdit(args []string, stdout, stderr io.Writer) int {
	return runChange("edit", args, stdout, stderr)
}

func runDelete(args []string, stdout, stderr io.Writer) int {
	return runChange("delete", args, stdout, stderr)
}

// runChange is qpc edit (name "edit") and qpc delete.
func runChange(name string, args []string, stdout, stderr io.Writer) int {
	synopsis := "--conversation C --message N [--json] TEXT...\n\n" +
		"Replaces the text of your line N of conversation C (@user or #group) on every device of everyone in it;\n" +
		"it shows (edited). qpc search --json, or /history in qpc repl, shows the numbers."
	if name == "delete" {
		synopsis = "--conversation C --message N [--json]\n\n" +
			"Deletes your line N of conversation C (@user or #group): its text is wiped from the chat database\n" +
			"of every device of everyone in it. qpc search --json, or /history in qpc repl, shows the numbers."
	}
	fs := newFlagSet(name, synopsis, stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	conv := fs.String("conversation", "", "the conversation: @user for a DM, #group for a group")
	n := fs.Uint64("message", 0, "the line's number in the conversation")
	asJSON := fs.Bool("json", false, "print the line as it is now as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	prefix := "qpc " + name
	if err := f.check(); err != nil {
		printErr(stderr, prefix, err)
		return exitUsage
	}
	text := strings.Join(fs.Args(), " ")
	switch {
	case *conv == "" || *n == 0:
		fmt.Fprintf(stderr, "%s: --conversation and --message are required\n", prefix)
		return exitUsage
	case name == "edit" && text == "":
		fmt.Fprintf(stderr, "%s: the new TEXT is required\n", prefix)
		return exitUsage
	case name == "delete" && text != "":
		fmt.Fprintf(stderr, "%s: takes no TEXT\n", prefix)
		return exitUsage
	}
	fail := func(err error) int {
		printErr(stderr, prefix, err)
		if *asJSON {
			json.NewEncoder(stdout).Encode(map[string]string{"error": sayError(err)})
		}
		return exitFailure
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	s, err := f.login(ctx)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		return fail(err)
	}
	defer eng.Close()
	// What arrived since the last run first: the group as it is now, and
	// an edit of the line from another device of the account.
	if _, err := s.SyncMailbox(ctx, eng); err != nil {
		return fail(fmt.Errorf("reading the mailbox: %w", err))
	}
	c, err := eng.Find(*conv)
	if err != nil {
		return fail(err)
	}
	var m chatdb.Message
	if name == "edit" {
		m, err = eng.Edit(ctx, c.ID, *n, text)
	} else {
		m, err = eng.Delete(ctx, c.ID, *n)
	}
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(toLineJSON(chat.Label(c), m))
		return exitOK
	}
	what := "edited"
	if m.Deleted {
		what = "deleted"
	}
	fmt.Fprintf(stdout, "%s line %d of %s\n", what, m.Seq, termtext.Safe(chat.Label(c)))
	return exitOK
}
