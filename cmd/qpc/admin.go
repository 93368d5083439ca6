package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/internal/jsontree"
	"github.com/quicprochat/qpc/internal/qrterm"
	"github.com/quicprochat/qpc/protocol"
)

// qpc admin talks to the node on this machine over its admin socket
// (docs/admin.md): no password, the socket file's permissions decide. It
// is in the router build: the router's root and LuCI's rpcd plugin run it.

// errBadExpiry means --expires is not a duration qpc admin invite takes.
var errBadExpiry = errors.New("--expires wants a duration such as 7d, 12h or 30m, at most 365d")

// adminSynopsis is the usage of qpc admin.
const adminSynopsis = `CMD [--data-dir DIR | --socket PATH] [--json]

commands:
  status                     the node at a glance
  users                      accounts: devices, last seen, mailbox
  user delete NAME           delete an account and everything of it
  user reset NAME            make an account register again (forgotten password)
  invite [--uses N] [--expires D]
                             make an invite code (D: 7d, 12h; default 7d, 1 use)
  invite list                the invites still valid
  invite revoke ID           end an invite
  quota                      bounds per user, and what each user takes
  links                      federation links
  mesh                       routes and the store-and-forward store
  drain [--off]              refuse new clients for maintenance (--off: take them again)
  log [--limit N]            the audit log of admin actions, newest first
  reports                    reports users sent to the admin`

// adminFlags are the flags every qpc admin command takes.
type adminFlags struct {
	dataDir, socket string
	json            bool
	timeout         time.Duration
}

func (f *adminFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", config.Default().DataDir, "the node's data directory, where its admin socket is")
	fs.StringVar(&f.socket, "socket", "", "the admin socket (default: DATA_DIR/"+config.AdminSocketFile+")")
	fs.BoolVar(&f.json, "json", false, "print the answer as one JSON object")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for the node")
}

func (f *adminFlags) path() string {
	if f.socket != "" {
		return f.socket
	}
	return filepath.Join(f.dataDir, config.AdminSocketFile)
}

// adminCommand is one qpc admin command: the words that name it, the
// method it calls, its flags and arguments, and its human rendering.
type adminCommand struct {
	words  string // "user delete"
	method string
	args   string // synopsis of its arguments, "" for none
	nargs  int
	flags  func(fs *flag.FlagSet, a *adminArgs) func() error
	print  func(w io.Writer, answer []byte, now time.Time) error
}

func adminCommands() []adminCommand {
	return []adminCommand{
		{words: "status", method: "status", print: printAdminStatus},
		{words: "users", method: "users", print: printAdminUsers},
		{words: "user delete", method: "deleteUser", args: "NAME", nargs: 1, print: printAdminDeleted},
		{words: "user reset", method: "resetUser", args: "NAME", nargs: 1, print: printAdminReset},
		{words: "invite list", method: "invites", print: printAdminInvites},
		{words: "invite revoke", method: "revokeInvite", args: "ID", nargs: 1, print: printAdminRevoked},
		{words: "invite", method: "createInvite", flags: inviteFlags, print: printAdminInvite},
		{words: "quota", method: "quota", print: printAdminQuota},
		{words: "links", method: "links", print: printAdminLinks},
		{words: "mesh", method: "mesh", print: printAdminMesh},
		{words: "drain", method: "drain", flags: drainFlags, print: printAdminDrain},
		{words: "log", method: "log", flags: logFlags, print: printAdminLog},
		{words: "reports", method: "reports", print: printAdminReports},
	}
}

func inviteFlags(fs *flag.FlagSet, a *adminArgs) func() error {
	uses := fs.Int("uses", 1, "how many registrations the code allows")
	expires := fs.String("expires", "7d", "how long the code is valid: 7d, 12h, 30m")
	return func() error {
		if *uses < 1 {
			return fmt.Errorf("--uses %d: an invite allows at least 1 registration", *uses)
		}
		a.uses = uint32(min(*uses, math.MaxInt32)) // the node says what it allows
		d, err := parseExpiry(*expires)
		if err != nil {
			return err
		}
		a.expires = uint64(d / time.Second)
		return nil
	}
}

func drainFlags(fs *flag.FlagSet, a *adminArgs) func() error {
	off := fs.Bool("off", false, "stop draining: take new clients again")
	return func() error {
		a.on = !*off
		return nil
	}
}

func logFlags(fs *flag.FlagSet, a *adminArgs) func() error {
	limit := fs.Int("limit", 50, "how many entries, newest first (0: all kept, at most 1000)")
	return func() error {
		if *limit < 0 {
			return fmt.Errorf("--limit %d: want 0 or more", *limit)
		}
		a.limit = uint32(min(*limit, 1000))
		return nil
	}
}

// parseExpiry reads a duration as Go writes it or as a number of days
// ("7d"), between a minute and 365 days.
func parseExpiry(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 365 {
			return 0, fmt.Errorf("%w (got %q)", errBadExpiry, s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%w (got %q)", errBadExpiry, s)
		}
	}
	if d < time.Minute || d > 365*24*time.Hour {
		return 0, fmt.Errorf("%w (got %q)", errBadExpiry, s)
	}
	return d, nil
}

func runAdmin(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprintf(w, "usage: qpc admin %s\n", adminSynopsis)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var cmd *adminCommand
	for _, c := range adminCommands() {
		words := strings.Fields(c.words)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.words {
			cmd, args = &c, args[len(words):]
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "qpc admin: unknown command %q; see qpc admin --help\n", termtext.Line(args[0]))
		return exitUsage
	}
	name := "admin " + cmd.words
	synopsis := "[--data-dir DIR | --socket PATH] [--json]"
	if cmd.args != "" {
		synopsis = cmd.args + " " + synopsis
	}
	fs := newFlagSet(name, synopsis, stderr)
	var f adminFlags
	f.bind(fs)
	var a adminArgs
	check := func() error { return nil }
	if cmd.flags != nil {
		check = cmd.flags(fs, &a)
	}
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if fs.NArg() != cmd.nargs {
		if cmd.nargs == 0 {
			fmt.Fprintf(stderr, "qpc %s: unexpected argument %q\n", name, termtext.Line(fs.Arg(0)))
		} else {
			fmt.Fprintf(stderr, "qpc %s: want %s; see qpc %s --help\n", name, cmd.args, name)
		}
		return exitUsage
	}
	if err := check(); err != nil {
		printErr(stderr, "qpc "+name, err)
		return exitUsage
	}
	switch cmd.method {
	case "deleteUser", "resetUser":
		a.name = fs.Arg(0)
	case "revokeInvite":
		a.id = fs.Arg(0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	answer, err := adminCall(ctx, f.path(), cmd.method, a)
	if err == nil && cmd.method == "createInvite" {
		answer, err = withQRSVG(answer)
	}
	if err != nil {
		say := adminSay(err)
		fmt.Fprintf(stderr, "qpc %s: %s\n", name, say)
		if f.json {
			out, _ := json.Marshal(map[string]string{"error": say})
			fmt.Fprintln(stdout, string(out))
		}
		return exitFailure
	}
	if f.json {
		fmt.Fprintln(stdout, answer)
		return exitOK
	}
	if err := cmd.print(stdout, []byte(answer), time.Now()); err != nil {
		printErr(stderr, "qpc "+name, err)
		return exitFailure
	}
	return exitOK
}

// adminSay is what the admin reads about err: as any user, but the node's
// own words for a failure on its side, which the admin socket gives in
// full (the admin is on the node's machine and needs them).
func adminSay(err error) string {
	var remote *protocol.RemoteError
	if errors.As(err, &remote) && errors.Is(err, protocol.ErrInternal) {
		return "the node failed: " + termtext.Safe(remote.Message)
	}
	return sayError(err)
}

// withQRSVG adds the invite's QR code, as SVG, to the node's answer (an
// object: the member goes before its closing brace).
func withQRSVG(answer string) (string, error) {
	inv, err := decodeAdmin([]byte(answer))
	if err != nil {
		return "", err
	}
	svg, err := qrterm.SVG(inv.Get("code").Str())
	if err != nil {
		return "", err
	}
	quoted, err := json.Marshal(svg)
	if err != nil {
		return "", err
	}
	body := strings.TrimRight(answer, " \n")
	return body[:len(body)-1] + `,"qr_svg":` + string(quoted) + "}", nil
}

// errBadAdminAnswer means the node's answer on the admin socket is not the
// JSON object of its method.
var errBadAdminAnswer = fmt.Errorf("%w: admin answer", protocol.ErrMalformedAnswer)

// decodeAdmin reads an admin answer: a JSON object. The router build
// reads it with jsontree, not encoding/json, whose decoder would cost two
// 64 KiB steps of flash for these tables.
func decodeAdmin(answer []byte) (jsontree.Value, error) {
	v, err := jsontree.Parse(answer)
	if err != nil {
		return jsontree.Value{}, fmt.Errorf("%w: %w", errBadAdminAnswer, err)
	}
	if v.Kind() != jsontree.Object {
		return jsontree.Value{}, fmt.Errorf("%w: not an object", errBadAdminAnswer)
	}
	return v, nil
}

// ago says how long before now Unix time t was, "-" for 0.
func ago(t int64, now time.Time) string {
	if t == 0 {
		return "-"
	}
	d := now.Sub(time.Unix(t, 0))
	if d < time.Minute {
		return "now"
	}
	return d.Truncate(time.Minute).String() + " ago"
}

// at writes Unix time t as a date and time, "-" for 0.
func at(t int64) string {
	if t == 0 {
		return "-"
	}
	return time.Unix(t, 0).Local().Format("2006-01-02 15:04")
}

func mibText(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

// num is a member of o as decimal text.
func num(o jsontree.Value, key string) string { return strconv.FormatInt(o.Get(key).Int(), 10) }

func printAdminStatus(w io.Writer, answer []byte, now time.Time) error {
	s, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	drain := ""
	if s.Get("draining").Bool() {
		drain = " (draining: new clients refused)"
	}
	q, ch, files, m := s.Get("queues"), s.Get("channels"), s.Get("files"), s.Get("metrics")
	rows := [][]string{
		{"domain", s.Get("domain").Str()},
		{"node id", s.Get("node_id").Str()},
		{"version", "qpc " + s.Get("version").Str() + " " + s.Get("platform").Str()},
		{"uptime", (time.Duration(s.Get("uptime_s").Int()) * time.Second).String() + drain},
		{"registration", s.Get("registration").Str()},
		{"clients", num(s, "clients")},
		{"accounts", num(s, "accounts")},
		{"mailboxes", num(q, "mailbox_messages") + " messages, " + mibText(q.Get("mailbox_bytes").Int())},
		{"mesh store", num(q, "mesh_envelopes") + " envelopes, " + mibText(q.Get("mesh_bytes").Int())},
		{"channels", num(ch, "channels") + " channels, " + num(ch, "posts") + " posts"},
		{"files", num(files, "count") + " held, " + mibText(files.Get("bytes").Int()) + " of " + mibText(files.Get("limit").Int())},
		{"messages", num(m, "messages_enqueued") + " enqueued, " + num(m, "messages_delivered") + " delivered"},
		{"refused", num(m, "registrations_refused") + " registrations, " + num(m, "logins_failed") + " failed logins"},
	}
	termtext.Table(w, rows)
	if links := s.Get("links").List(); len(links) > 0 {
		fmt.Fprintln(w)
		printLinkRows(w, links, now)
	}
	if nearby := s.Get("nearby").List(); len(nearby) > 0 {
		fmt.Fprintln(w)
		rows := [][]string{{"nearby", "domain", "address"}}
		for _, p := range nearby {
			rows = append(rows, []string{p.Get("instance").Str(), p.Get("domain").Str(), p.Get("address").Str()})
		}
		termtext.Table(w, rows)
	}
	return nil
}

func printLinkRows(w io.Writer, links []jsontree.Value, now time.Time) {
	rows := [][]string{{"federation", "address", "state", "since"}}
	for _, l := range links {
		domain := l.Get("domain").Str()
		if domain == "" {
			domain = "(not reached yet)"
		}
		rows = append(rows, []string{domain, l.Get("address").Str(), l.Get("state").Str(), ago(l.Get("since").Int(), now)})
	}
	termtext.Table(w, rows)
}

func printAdminUsers(w io.Writer, answer []byte, now time.Time) error {
	u, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	users := u.Get("users").List()
	if len(users) == 0 {
		fmt.Fprintln(w, "no accounts")
		return nil
	}
	rows := [][]string{{"name", "devices", "last seen", "messages", "bytes"}}
	for _, x := range users {
		rows = append(rows, []string{x.Get("name").Str(), num(x, "devices"), ago(x.Get("last_seen").Int(), now),
			num(x, "mailbox_messages"), num(x, "mailbox_bytes")})
	}
	termtext.Table(w, rows)
	return nil
}

func printAdminDeleted(w io.Writer, answer []byte, _ time.Time) error {
	d, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "deleted %s: the name is held for a while before anyone may register it again\n", termtext.Line(d.Get("deleted").Str()))
	return nil
}

func printAdminReset(w io.Writer, answer []byte, _ time.Time) error {
	r, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	name := termtext.Line(r.Get("reset").Str())
	fmt.Fprintf(w, "reset %s: no password logs in, sessions ended.\n", name)
	fmt.Fprintf(w, "Give them this code (valid until %s); they register the name again with a new password:\n\n", at(r.Get("expires").Int()))
	fmt.Fprintf(w, "  qpc register %s --invite %s\n\n", name, termtext.Line(r.Get("code").Str()))
	fmt.Fprintln(w, "Their contacts see a key change, as after any reset.")
	return nil
}

func printAdminInvite(w io.Writer, answer []byte, _ time.Time) error {
	inv, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	code, uses := inv.Get("code").Str(), int(inv.Get("uses").Int())
	fmt.Fprintf(w, "invite %s (id %s): %d %s, valid until %s\n\n", termtext.Line(code), termtext.Line(inv.Get("id").Str()),
		uses, termtext.Plural(uses, "registration"), at(inv.Get("expires").Int()))
	if err := qrterm.Write(w, code); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nregister with: qpc register NAME --invite %s\n", termtext.Line(code))
	return nil
}

func printAdminInvites(w io.Writer, answer []byte, _ time.Time) error {
	l, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	invites := l.Get("invites").List()
	if len(invites) == 0 {
		fmt.Fprintln(w, "no invites")
		return nil
	}
	rows := [][]string{{"id", "uses left", "expires", "created", "for"}}
	for _, i := range invites {
		rows = append(rows, []string{i.Get("id").Str(), num(i, "uses_left"), at(i.Get("expires").Int()), at(i.Get("created").Int()), i.Get("for").Str()})
	}
	termtext.Table(w, rows)
	return nil
}

func printAdminRevoked(w io.Writer, answer []byte, _ time.Time) error {
	r, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "revoked invite %s\n", termtext.Line(r.Get("revoked").Str()))
	return nil
}

func printAdminQuota(w io.Writer, answer []byte, _ time.Time) error {
	q, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	lim := q.Get("limits")
	fmt.Fprintf(w, "limits: %s messages per mailbox, %s of files per user, %s accounts\n\n",
		num(lim, "mailbox_messages"), mibText(lim.Get("files_bytes_per_user").Int()), num(lim, "accounts"))
	rows := [][]string{{"name", "messages", "files"}}
	for _, u := range q.Get("users").List() {
		rows = append(rows, []string{u.Get("name").Str(), num(u, "mailbox_messages"), mibText(u.Get("files_bytes").Int())})
	}
	termtext.Table(w, rows)
	return nil
}

func printAdminLinks(w io.Writer, answer []byte, now time.Time) error {
	l, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	links := l.Get("links").List()
	if len(links) == 0 {
		fmt.Fprintln(w, "no federation links")
		return nil
	}
	printLinkRows(w, links, now)
	return nil
}

func printAdminMesh(w io.Writer, answer []byte, _ time.Time) error {
	m, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	st := m.Get("store")
	fmt.Fprintf(w, "store: %s envelopes, %s of %s, %s ids seen\n", num(st, "envelopes"), mibText(st.Get("bytes").Int()),
		mibText(st.Get("max_bytes").Int()), num(st, "seen"))
	routes := m.Get("routes").List()
	if len(routes) == 0 {
		fmt.Fprintln(w, "no routes")
		return nil
	}
	fmt.Fprintln(w)
	rows := [][]string{{"domain", "via", "hops"}}
	for _, r := range routes {
		rows = append(rows, []string{r.Get("domain").Str(), r.Get("via").Str(), num(r, "hops")})
	}
	termtext.Table(w, rows)
	return nil
}

func printAdminDrain(w io.Writer, answer []byte, _ time.Time) error {
	d, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	if d.Get("draining").Bool() {
		fmt.Fprintln(w, "draining: new clients and logins are refused; sessions already open and federation go on")
	} else {
		fmt.Fprintln(w, "not draining: the node takes clients")
	}
	return nil
}

func printAdminLog(w io.Writer, answer []byte, _ time.Time) error {
	l, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	entries := l.Get("entries").List()
	if len(entries) == 0 {
		fmt.Fprintln(w, "no admin actions yet")
		return nil
	}
	rows := [][]string{{"time", "action", "target", "detail"}}
	for _, e := range entries {
		rows = append(rows, []string{at(e.Get("time").Int()), e.Get("action").Str(), e.Get("target").Str(), e.Get("detail").Str()})
	}
	termtext.Table(w, rows)
	return nil
}

func printAdminReports(w io.Writer, answer []byte, _ time.Time) error {
	r, err := decodeAdmin(answer)
	if err != nil {
		return err
	}
	reports := r.Get("reports").List()
	if len(reports) == 0 {
		fmt.Fprintln(w, "no reports")
		return nil
	}
	rows := [][]string{{"time", "reporter", "sender", "message", "note"}}
	for _, x := range reports {
		rows = append(rows, []string{at(x.Get("time").Int()), x.Get("reporter").Str(), x.Get("sender").Str(),
			x.Get("message").Str(), x.Get("note").Str()})
	}
	termtext.Table(w, rows)
	return nil
}
