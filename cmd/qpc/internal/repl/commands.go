package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/mls"
	"github.com/quicprochat/qpc/internal/qrterm"
	"github.com/quicprochat/qpc/protocol"
)

// replCommand is one of the REPL's slash commands. The table of them is
// the one place that says what a command takes: /help and the usage
// errors come from it.
type replCommand struct {
	name    string
	aliases []string
	// args is the synopsis of the arguments: "<user>", "[n]".
	args string
	help string
	// min and max bound how many arguments it takes; max < 0: any.
	min, max int
	run      func(r *REPL, ctx context.Context, args []string) error
}

func (c replCommand) usage() string {
	if c.args == "" {
		return "usage: /" + c.name
	}
	return "usage: /" + c.name + " " + c.args
}

func replCommands() []replCommand {
	return []replCommand{
		{name: "dm", args: "<user[@domain]>", help: "talk with a user (with yourself: your notes, kept on this machine)", min: 1, max: 1, run: (*REPL).cmdDM},
		{name: "create-group", aliases: []string{"cg"}, args: "<name> [classic]", help: "make a group of you alone; /invite adds people. It is post-quantum, for up to about 40 members; 'classic' makes one for up to about 350", min: 1, max: 2, run: (*REPL).cmdCreateGroup},
		{name: "invite", args: "<user>", help: "add a user to the current group", min: 1, max: 1, run: (*REPL).cmdInvite},
		{name: "remove", args: "<user>", help: "remove a user from the current group (its keys rotate)", min: 1, max: 1, run: (*REPL).cmdRemove},
		{name: "join", args: "[#group]", help: "accept an invitation: the current one, the named one or the only one", max: 1, run: (*REPL).cmdJoin},
		{name: "leave", help: "leave the current group (or decline its invitation)", run: (*REPL).cmdLeave},
		{name: "switch", aliases: []string{"sw"}, args: "@user|#group", help: "go to another conversation; shows its last lines", min: 1, max: 1, run: (*REPL).cmdSwitch},
		{name: "list", aliases: []string{"ls"}, help: "every conversation: kind, members, unread; * marks the current one", run: (*REPL).cmdList},
		{name: "members", help: "the members of the current conversation, and who its admins are", run: (*REPL).cmdMembers},
		{name: "promote", args: "<user>", help: "make a member of the current group an admin: admins add, remove, promote and demote (admins only)", min: 1, max: 1, run: (*REPL).cmdPromote},
		{name: "demote", args: "<user>", help: "make an admin of the current group a member without the role (admins only; a group keeps one admin)", min: 1, max: 1, run: (*REPL).cmdDemote},
		{name: "history", aliases: []string{"hist"}, args: "[n]", help: "the last n lines of the current conversation (default 20)", max: 1, run: (*REPL).cmdHistory},
		{name: "verify", args: "<user> [confirm]", help: "show the safety number with a user, as digits and a QR code; confirm: mark it verified", min: 1, max: 2, run: (*REPL).cmdVerify},
		{name: "update-key", aliases: []string{"rotate-key"}, help: "give yourself new keys in the current group", run: (*REPL).cmdUpdateKey},
		{name: "mesh", args: "peers [flags] | server <host:port>", help: "nodes nearby (mDNS), or move to another node", min: 1, max: -1, run: (*REPL).cmdMesh},
		{name: "channel", args: "<create|join|share|send|recv|list|leave|stats> [args]", help: "broadcast channels, as qpc channel does", min: 1, max: -1, run: (*REPL).cmdChannel},
		{name: "device", args: "list | approve <CODE> | remove <NAME> [force]", help: "your devices: list them, approve a machine that shows a link code (qpc device link), remove one (it leaves every group)", min: 1, max: 4, run: (*REPL).cmdDevice},
		{name: "receipts", args: "[on|off]", help: "read receipts: on, your DM peers see which of their messages you have read, and you see theirs; off (the default), neither. Delivered is shown either way", max: 1, run: (*REPL).cmdReceipts},
		{name: "send-file", args: "<path>", help: "send a file to the current conversation: encrypted, uploaded to your node (resumed if interrupted), progress shown", min: 1, max: -1, run: (*REPL).cmdSendFile},
		{name: "download", args: "<N> [dir]", help: "save the file of line [file #N] of the current conversation in dir (default: the current directory), never overwriting", min: 1, max: 2, run: (*REPL).cmdDownload},
		{name: "block", args: "<user>", help: "drop everything the user sends, on every device of yours; your node refuses their messages when they are on it", min: 1, max: 1, run: (*REPL).cmdBlock},
		{name: "unblock", args: "<user>", help: "take the user off your block list", min: 1, max: 1, run: (*REPL).cmdUnblock},
		{name: "blocked", help: "your block list", run: (*REPL).cmdBlocked},
		{name: "report", args: "<N> [note]", help: "report line #N of the current conversation (/history shows the numbers) to your node's admin, encrypted to them", min: 1, max: -1, run: (*REPL).cmdReport},
		{name: "edit", args: "<N> <text>", help: "replace the text of your line #N (/history shows the numbers) on every device of everyone in the conversation; it shows (edited)", min: 2, max: -1, run: (*REPL).cmdEdit},
		{name: "delete", args: "<N>", help: "delete your line #N: its text is wiped from the history of every device of everyone in the conversation", min: 1, max: 1, run: (*REPL).cmdDelete},
		{name: "search", args: "<words>", help: "the lines of every conversation that hold all the words (case ignored), the newest 20; nothing of it is written to disk", min: 1, max: -1, run: (*REPL).cmdSearch},
		{name: "backup", args: "<file>", help: "put this device's whole client state (keys, contacts, groups, history) into one file, encrypted under a passphrase asked for here; qpc backup restore reads it", min: 1, max: -1, run: (*REPL).cmdBackup},
		{name: "export", args: "<conversation> <file> | verify <file>", help: "write a conversation's history as a signed, encrypted transcript archive (as qpc export); verify: check one and name any record changed", min: 2, max: 2, run: (*REPL).cmdExport},
		{name: "password", help: "change your account's password: asks the current one, then the new one twice; your other sessions end", run: (*REPL).cmdPassword},
		{name: "whoami", help: "your address, your node, your identity fingerprint", run: (*REPL).cmdWhoami},
		{name: "help", help: "this list", run: (*REPL).cmdHelp},
		{name: "quit", aliases: []string{"exit"}, help: "end (Ctrl-D too); queued messages are sent next time", run: (*REPL).cmdQuit},
	}
}

// parseCommand splits a line that starts with "/" into its command and
// arguments; the error says what is wrong in one line.
func parseCommand(line string) (replCommand, []string, error) {
	fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "/"))
	if len(fields) == 0 {
		return replCommand{}, nil, errors.New("a command follows the / (try /help)")
	}
	name, args := strings.ToLower(fields[0]), fields[1:]
	for _, c := range replCommands() {
		if c.name != name && !slices.Contains(c.aliases, name) {
			continue
		}
		if len(args) < c.min || c.max >= 0 && len(args) > c.max {
			return replCommand{}, nil, errors.New(c.usage())
		}
		return c, args, nil
	}
	return replCommand{}, nil, fmt.Errorf("unknown command /%s (try /help)", termtext.Safe(fields[0]))
}

func (r *REPL) cmdHelp(_ context.Context, _ []string) error {
	rows := [][]string{}
	for _, c := range replCommands() {
		names := "/" + c.name
		for _, a := range c.aliases {
			names += ", /" + a
		}
		if c.args != "" {
			names += " " + c.args
		}
		rows = append(rows, []string{"  " + names, c.help})
	}
	var b bytes.Buffer
	fmt.Fprintln(&b, "commands:")
	termtext.Table(&b, rows)
	fmt.Fprintln(&b, "Anything else is sent to the current conversation (start it with // to send a line that begins with /).")
	r.Printf("%s", b.String())
	return nil
}

func (r *REPL) cmdQuit(context.Context, []string) error { return errQuit }

// isSelf reports whether user names the account itself.
func (r *REPL) isSelf(user string) bool {
	self, err := protocol.ParseAddress(r.eng.Self())
	if err != nil {
		// An engine whose self is no address (a test's): only its name.
		return strings.EqualFold(strings.TrimPrefix(user, "@"), r.eng.Self())
	}
	// "bob", "@bob", "bob@home" and "@bob@home" all name bob@home.
	a, err := protocol.ParseRecipient(user, self.Domain)
	return err == nil && a == self
}

func (r *REPL) cmdDM(ctx context.Context, args []string) error {
	var c chatdb.Conversation
	var err error
	if r.isSelf(args[0]) {
		c, err = r.eng.Note()
	} else {
		c, err = r.eng.DM(ctx, strings.TrimPrefix(args[0], "@"))
	}
	if err != nil {
		return err
	}
	return r.switchTo(c)
}

func (r *REPL) cmdCreateGroup(ctx context.Context, args []string) error {
	create := r.eng.CreateGroup
	if len(args) == 2 {
		if args[1] != "classic" {
			return fmt.Errorf("usage: /create-group <name> [classic]: %q is not 'classic'", args[1])
		}
		create = r.eng.CreateClassicGroup
	}
	c, err := create(ctx, strings.TrimPrefix(args[0], "#"))
	if err != nil {
		return err
	}
	r.Printf("created %s: /invite <user> adds people", r.name(c))
	return r.switchTo(c)
}

// group returns the current conversation, which must be a group that the
// account is in, for the command cmd.
func (r *REPL) group(cmd string) (chatdb.Conversation, error) {
	c, err := r.current()
	if err != nil {
		return c, err
	}
	switch {
	case c.Kind != chatdb.KindGroup:
		return c, fmt.Errorf("/%s works in a group: /switch #group or /cg <name> first", cmd)
	case c.Invited:
		return c, fmt.Errorf("%s is an invitation: /join to accept it first", r.name(c))
	case c.Left:
		return c, fmt.Errorf("you are no longer in %s", r.name(c))
	}
	return c, nil
}

func (r *REPL) cmdInvite(ctx context.Context, args []string) error {
	return r.changeMembers(ctx, "invite", args[0], r.eng.Invite, "invited %s to %s")
}

func (r *REPL) cmdRemove(ctx context.Context, args []string) error {
	return r.changeMembers(ctx, "remove", args[0], r.eng.Remove, "removed %s from %s")
}

// changeMembers runs change (Invite or Remove) on user in the current
// group for the command cmd, and says what it did with done.
func (r *REPL) changeMembers(ctx context.Context, cmd, user string,
	change func(context.Context, chatdb.ConvID, string) error, done string) error {
	c, err := r.group(cmd)
	if err != nil {
		return err
	}
	if err := change(ctx, c.ID, strings.TrimPrefix(user, "@")); err != nil {
		return err
	}
	r.Printf(done, termtext.Safe(user), r.name(c))
	return nil
}

// pending returns the invitation /join means: the named one, else the
// current conversation if it is one, else the only one there is.
func (r *REPL) pending(args []string) (chatdb.Conversation, error) {
	if len(args) == 1 {
		c, err := r.eng.Find(args[0])
		if err != nil {
			return c, err
		}
		if !c.Invited {
			return c, fmt.Errorf("%s is no invitation (/switch goes there)", r.name(c))
		}
		return c, nil
	}
	if c, err := r.current(); err == nil && c.Invited {
		return c, nil
	}
	convs, err := r.eng.Conversations()
	if err != nil {
		return chatdb.Conversation{}, err
	}
	var invited []chatdb.Conversation
	var names []string
	for _, c := range convs {
		if c.Invited {
			invited = append(invited, c)
			names = append(names, "/join "+r.name(c))
		}
	}
	switch len(invited) {
	case 0:
		return chatdb.Conversation{}, errors.New("no invitation to accept")
	case 1:
		return invited[0], nil
	}
	return chatdb.Conversation{}, fmt.Errorf("%d invitations: %s", len(invited), strings.Join(names, " or "))
}

func (r *REPL) cmdJoin(ctx context.Context, args []string) error {
	c, err := r.pending(args)
	if err != nil {
		return err
	}
	if err := r.eng.Join(ctx, c.ID); err != nil {
		return err
	}
	if joined, ok := r.lookup(c.ID); ok {
		c = joined
	}
	c.Invited = false
	r.Printf("joined %s", r.name(c))
	return r.switchTo(c)
}

func (r *REPL) cmdLeave(ctx context.Context, _ []string) error {
	c, err := r.current()
	if err != nil {
		return err
	}
	if c.Kind != chatdb.KindGroup {
		return errors.New("/leave works in a group (a DM stays; /switch elsewhere)")
	}
	if err := r.eng.Leave(ctx, c.ID); err != nil {
		return err
	}
	if c.Invited {
		r.Printf("declined the invitation to %s", r.name(c))
	} else {
		r.Printf("left %s", r.name(c))
	}
	r.leaveCurrent()
	return nil
}

func (r *REPL) cmdSwitch(_ context.Context, args []string) error {
	c, err := r.eng.Find(args[0])
	if err != nil {
		return err
	}
	return r.switchTo(c)
}

func kindName(k chatdb.Kind) string {
	switch k {
	case chatdb.KindNote:
		return "note"
	case chatdb.KindDM:
		return "dm"
	case chatdb.KindGroup:
		return "group"
	}
	return "?"
}

func (r *REPL) cmdList(context.Context, []string) error {
	convs, err := r.eng.Conversations()
	if err != nil {
		return err
	}
	if len(convs) == 0 {
		r.Printf("no conversations yet: /dm <user> or /cg <name>")
		return nil
	}
	cur, hasCur := r.currentID()
	rows := [][]string{{" ", "CONVERSATION", "KIND", "MEMBERS", "UNREAD"}}
	for _, c := range convs {
		mark := " "
		if hasCur && c.ID == cur {
			mark = "*"
		}
		var note string
		switch {
		case c.Invited:
			note = "invitation from " + r.who(c.InvitedBy) + ": /join " + r.name(c)
		case c.Left:
			note = "left"
		}
		row := []string{mark, r.name(c), kindName(c.Kind), strconv.Itoa(len(c.Members)), strconv.Itoa(c.Unread)}
		if note != "" {
			row = append(row, note)
		}
		rows = append(rows, row)
	}
	var b bytes.Buffer
	termtext.Table(&b, rows)
	r.Printf("%s", b.String())
	return nil
}

func (r *REPL) cmdMembers(context.Context, []string) error {
	c, err := r.current()
	if err != nil {
		return err
	}
	members, err := r.eng.Members(c.ID)
	if err != nil {
		return err
	}
	shown := make([]string, len(members))
	for i, m := range members {
		shown[i] = termtext.Safe(m)
	}
	line := fmt.Sprintf("%s: %d %s: %s", r.name(c), len(members), termtext.Plural(len(members), "member"), strings.Join(shown, ", "))
	// The suite says whether a recording of the group can be read by a
	// future quantum computer; docs/client.md says how to move a group.
	// The note has no group, hence no suite.
	if id, err := r.eng.GroupSuite(c.ID); err == nil {
		pq := "post-quantum"
		if !mls.IsPostQuantum(id) {
			pq = "classic, not post-quantum"
		}
		line += fmt.Sprintf(" (suite %v: %s)", id, pq)
	}
	admins, err := r.admins(c) // roles.go
	if err != nil {
		return err
	}
	r.Printf("%s", line+admins)
	return nil
}

func (r *REPL) cmdHistory(_ context.Context, args []string) error {
	n := 20
	if len(args) == 1 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil || n <= 0 {
			return errors.New("usage: /history [n], n a number of lines above 0")
		}
	}
	c, err := r.current()
	if err != nil {
		return err
	}
	msgs, err := r.eng.History(c.ID, n)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		r.Printf("%s", r.io.Dim("-- nothing yet in "+r.name(c)+" --"))
		return nil
	}
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintln(&b, r.numberedLine(m)) // the numbers /edit, /delete and /download take
	}
	r.Printf("%s", b.String())
	return nil
}

func (r *REPL) cmdVerify(ctx context.Context, args []string) error {
	user := strings.TrimPrefix(args[0], "@")
	if len(args) == 2 {
		if args[1] != "confirm" {
			return errors.New("usage: /verify <user> [confirm]")
		}
		if err := r.eng.Verify(ctx, user); err != nil {
			return err
		}
		r.Printf("%s is verified: you compared the safety number", termtext.Safe(user))
		return nil
	}
	number, contact, err := r.eng.SafetyNumber(ctx, user)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if contact.KeyChanged {
		fmt.Fprintf(&b, "WARNING: THE ACCOUNT KEY OF %s HAS CHANGED SINCE YOU VERIFIED IT.\n"+
			"Someone may be impersonating them, or they reset their account. Nothing is sent to them until you compare\n"+
			"the new safety number below with them and confirm it: /verify %s confirm\n",
			strings.ToUpper(termtext.Safe(contact.Address)), termtext.Safe(contact.Address))
	}
	fmt.Fprintf(&b, "safety number with %s:\n%s", termtext.Safe(user), termtext.SafetyNumber(number))
	if err := qrterm.Write(&b, number); err != nil {
		return err
	}
	switch {
	case contact.Verified && !contact.KeyChanged:
		fmt.Fprintln(&b, "verified")
	default:
		fmt.Fprintf(&b, "not verified: compare the number with %s in person or on a call, then /verify %s confirm\n", termtext.Safe(user), termtext.Safe(user))
	}
	r.Printf("%s", b.String())
	return nil
}

func (r *REPL) cmdUpdateKey(ctx context.Context, _ []string) error {
	c, err := r.group("update-key")
	if err != nil {
		return err
	}
	if err := r.eng.UpdateKey(ctx, c.ID); err != nil {
		return err
	}
	r.Printf("new keys in %s", r.name(c))
	return nil
}

func (r *REPL) cmdMesh(ctx context.Context, args []string) error {
	usage := errors.New("usage: /mesh peers [--iface IFACE] [--timeout 3s] | /mesh server <host:port>")
	switch args[0] {
	case "peers":
		if r.meshPeers == nil {
			return errors.New("/mesh peers: not in this REPL")
		}
		var b bytes.Buffer
		r.meshPeers(args[1:], &b)
		r.Printf("%s", b.String())
		return nil
	case "server":
		if len(args) != 2 {
			return usage
		}
		if _, _, err := net.SplitHostPort(args[1]); err != nil {
			return fmt.Errorf("/mesh server %s: %w", termtext.Safe(args[1]), err)
		}
		if r.node == nil {
			return errNoNode
		}
		r.Printf("moving to %s; the account stays %s", termtext.Safe(args[1]), termtext.Safe(r.eng.Self()))
		r.node.MoveTo(ctx, args[1])
		return nil
	}
	return usage
}

// errNoNode is what the commands that need the node say without one.
var errNoNode = errors.New("not connected to a node")

func (r *REPL) cmdChannel(_ context.Context, args []string) error {
	if r.node == nil {
		return errNoNode
	}
	// What would read stdin or run until interrupted cannot share the
	// terminal with the REPL.
	switch {
	case args[0] == "join" && len(args) < 2:
		return errors.New("usage: /channel join <share string>")
	case args[0] == "send" && len(args) < 3:
		return errors.New("usage: /channel send <topic> <text>")
	case args[0] == "recv" && (slices.Contains(args, "--follow") || slices.Contains(args, "-follow")):
		return errors.New("/channel recv --follow runs until interrupted: use qpc channel recv --follow in another terminal")
	}
	var b bytes.Buffer
	r.node.Channel(args, &b)
	r.Printf("%s", b.String())
	return nil
}

func (r *REPL) cmdWhoami(context.Context, []string) error {
	if r.node == nil {
		r.Printf("%s", termtext.Safe(r.eng.Self()))
		return nil
	}
	server := r.node.Server()
	state := "offline"
	if r.eng.Online() {
		state = "online"
	}
	r.Printf("%s\nnode             %s (%s)\nkey fingerprint  %s", termtext.Safe(r.eng.Self()), server, state, r.node.Fingerprint())
	return nil
}
