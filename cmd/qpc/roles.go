//go:build !router

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/mls"
)

// This file is qpc group: the roles of the groups of qpc repl (issue 30)
// for scripts: who the members and admins are, and /promote and /demote.
// Like qpc send --group, it reads the mailbox first, so that it acts on
// the group as it is now.

func init() {
	userErrors = append(userErrors,
		userError{cause: chat.ErrNotAdmin, say: "only an admin of the group can do this: ask one of its admins (qpc group members shows them)"},
		userError{cause: chat.ErrLastAdmin, say: "the group would be left without an admin: promote another member first"},
		userError{cause: chat.ErrAlreadyAdmin, say: "that member is an admin already"},
		userError{cause: chat.ErrNotAnAdmin, say: "that member is not an admin"},
		userError{cause: chat.ErrNoRoles, say: "this group has no roles (it was made before them, or it is a DM): every member can add and remove"},
		// The same refusal from the MLS layer: the group changed under
		// the operation (the account was demoted meanwhile).
		userError{cause: mls.ErrNotAdmin, say: "only an admin of the group can do this: ask one of its admins (qpc group members shows them)"},
		// A group with roles takes only clients that know them.
		userError{cause: mls.ErrCapabilities, say: "that user's qpc cannot join this group (it does not know group roles, or lacks what the group needs): they need to update qpc and log in once"},
	)
}

const groupSynopsis = "members NAME | promote NAME USER | demote NAME USER  [--json]"

// groupMembersJSON is what qpc group members --json prints.
type groupMembersJSON struct {
	Group string `json:"group"`
	// Roles is false for a group without roles (a DM, or one made before
	// them), whose members are all equal.
	Roles   bool              `json:"roles"`
	Members []chat.MemberRole `json:"members"`
}

// groupRoleJSON is what qpc group promote and demote print with --json.
type groupRoleJSON struct {
	Group    string `json:"group"`
	Promoted string `json:"promoted,omitempty"`
	Demoted  string `json:"demoted,omitempty"`
}

func runGroup(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("group", groupSynopsis, stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	words := fs.Args()
	want := map[string]int{"members": 2, "promote": 3, "demote": 3}
	if len(words) == 0 || want[words[0]] == 0 || len(words) != want[words[0]] {
		fmt.Fprintf(stderr, "usage: qpc group %s (qpc group --help)\n", groupSynopsis)
		return exitUsage
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc group", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc group", err)
		return exitFailure
	}
	defer s.Close()
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		printErr(stderr, "qpc group", err)
		return exitFailure
	}
	defer eng.Close()
	if _, err := s.SyncMailbox(ctx, eng); err != nil {
		printErr(stderr, "qpc group", fmt.Errorf("reading the mailbox: %w", err))
		return exitFailure
	}
	c, err := findGroup(eng, words[1])
	if err != nil {
		printErr(stderr, "qpc group", err)
		return exitFailure
	}
	if words[0] == "members" {
		return printGroupMembers(eng, c, *asJSON, stdout, stderr)
	}
	user := strings.TrimPrefix(words[2], "@")
	change, out := eng.Promote, groupRoleJSON{Group: chat.Label(c), Promoted: user}
	done := "made %s an admin of %s\n"
	if words[0] == "demote" {
		change, out = eng.Demote, groupRoleJSON{Group: chat.Label(c), Demoted: user}
		done = "made %s no longer an admin of %s\n"
	}
	if err := change(ctx, c.ID, user); err != nil {
		printErr(stderr, "qpc group "+words[0], err)
		return exitFailure
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(out)
		return exitOK
	}
	fmt.Fprintf(stdout, done, termtext.Safe(user), termtext.Safe(chat.Label(c)))
	return exitOK
}

// printGroupMembers prints the members of c with their roles: a table, or
// one JSON object.
func printGroupMembers(eng *chat.Engine, c chatdb.Conversation, asJSON bool, stdout, stderr io.Writer) int {
	ms, roles, err := eng.MemberRoles(c.ID)
	if err != nil {
		printErr(stderr, "qpc group members", err)
		return exitFailure
	}
	if asJSON {
		if ms == nil {
			ms = []chat.MemberRole{}
		}
		json.NewEncoder(stdout).Encode(groupMembersJSON{Group: chat.Label(c), Roles: roles, Members: ms})
		return exitOK
	}
	rows := [][]string{{"MEMBER", "ROLE"}}
	for _, m := range ms {
		role := "member"
		switch {
		case !roles:
			role = "member (no roles in this group)"
		case m.Admin:
			role = "admin"
		}
		rows = append(rows, []string{m.Account, role})
	}
	termtext.Table(stdout, rows)
	return exitOK
}
