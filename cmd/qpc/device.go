//go:build !router

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/internal/qrterm"
)

// subcommand is one of `qpc device …` or `qpc account …`.
type subcommand struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

// runSubcommands runs the subcommand args[0] of group.
func runSubcommands(group, usage string, subs []subcommand, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, usage)
		for _, c := range subs {
			fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range subs {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "qpc %s: unknown command %q (try: qpc %s --help)\n", group, args[0], group)
	return exitUsage
}

func runDevice(args []string, stdout, stderr io.Writer) int {
	return runSubcommands("device", "usage: qpc device link [--name NAME] [--wait D]      (on the new machine)\n"+
		"       qpc device approve CODE [--with-account-key]   (on a device that holds the account key)\n"+
		"       qpc device list [--json]\n"+
		"       qpc device remove NAME [--force]\n\n", []subcommand{
		{"link", "make this machine a device of the account: shows a code to approve on another device", runDeviceLink},
		{"approve", "add the machine that shows CODE to the account's devices and send it the contacts", runDeviceApprove},
		{"list", "the account's devices", runDeviceList},
		{"remove", "revoke a device: it reads nothing more", runDeviceRemove},
	}, args, stdout, stderr)
}

func runAccount(args []string, stdout, stderr io.Writer) int {
	return runSubcommands("account", "usage: qpc account recover [--name NAME] [--code-file FILE]   (the recovery code: from FILE, $QPC_RECOVERY_CODE or a prompt)\n"+
		"       qpc account recover --reset [--name NAME] [--qr]   (no code left: a new account key; contacts see a key change)\n"+
		"       qpc account password [--new-password-file FILE]\n"+
		"       qpc account logout [--everywhere]\n"+
		"       qpc account delete [--yes]\n"+
		"       qpc account forget   (this machine only)\n\n", []subcommand{
		{"recover", "make this machine a device again with the recovery code, or --reset the account key", runAccountRecover},
		{"password", "change the account's password (other sessions end)", runAccountPassword},
		{"logout", "end this machine's session, or --everywhere every session of the account", runAccountLogout},
		{"delete", "delete the account on its node and on this machine", runAccountDelete},
		{"forget", "remove what this machine keeps of the account, nothing on its node", runAccountForget},
	}, args, stdout, stderr)
}

// parseWithArgs parses fs from args, taking the non-flag words wherever
// they stand (people write `qpc device remove desk --force`).
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

func runDeviceLink(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("device link", "[--name NAME] [--wait D] [flags]\n\n"+
		"Logs in with the account's password and asks to make this machine one of its devices. It shows a code (and a QR code):\n"+
		"type it on a device that holds the account key, `qpc device approve CODE`. This waits until then.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	name := fs.String("name", "", "this device's name, as people see it (default: the host name)")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for the approval (the node keeps the request 15 minutes)")
	noQR := fs.Bool("no-qr", false, "do not print the code as a QR code")
	if _, err := parseWithArgs(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc device link", err)
		return exitUsage
	}
	if *name != "" {
		if err := identity.CheckDeviceName(*name); err != nil {
			printErr(stderr, "qpc device link: --name", err)
			return exitUsage
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cur, err := f.resolveAccount()
	if err != nil {
		printErr(stderr, "qpc device link", err)
		return exitFailure
	}
	cfg := f.sessionConfig()
	cfg.DeviceName = *name
	l, err := session.StartLink(ctx, cfg, cur)
	if err != nil {
		printErr(stderr, "qpc device link", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "link code  %s\n", l.Code)
	fmt.Fprintf(stdout, "On a device of %s that holds the account key, run:\n  qpc device approve %s\n", l.Address(), l.Code)
	fmt.Fprintf(stdout, "this device: %q, id %s\n", l.Name, l.Device)
	if !*noQR {
		if err := qrterm.Write(stdout, l.Code.String()); err != nil {
			printErr(stderr, "qpc device link: QR code", err)
		}
	}
	deadline := time.Now().Add(*wait)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	last := time.Duration(-1)
	s, err := l.Wait(wctx, time.Second, func() {
		// A line every half minute: the person sees the wait go on
		// without a screen full of lines.
		left := time.Until(deadline).Round(30 * time.Second)
		if left != last {
			last = left
			fmt.Fprintf(stderr, "waiting for the approval (%s left; Ctrl-C cancels)...\n", left)
		}
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("cancelled; the request expires on the node by itself")
		}
		printErr(stderr, "qpc device link", err)
		return exitFailure
	}
	defer s.Close()
	fmt.Fprintf(stdout, "approved: this machine is the device %q of %s\n", l.Name, s.Current().Address())
	// The approving device sealed the contacts and channels to this
	// device's queue: read them now.
	if err := s.OpenReplayCache(); err != nil {
		printErr(stderr, "qpc device link", err)
		return exitFailure
	}
	in := s.Inbox(func(ctx context.Context) (*chat.Engine, error) { return openChat(ctx, s, stderr) })
	_, err = s.Receive(ctx, in, func(r session.Incoming) { printReceived(stdout, r, false) })
	// The inbox's chat engine holds the chat database: close it before
	// the KeyPackages are uploaded on an engine of their own.
	closeInbox(in, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "qpc device link: reading what the other device sent: %s\n", sayError(err))
		return exitFailure
	}
	uploadKeyPackages(ctx, s, stderr)
	return exitOK
}

func runDeviceApprove(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("device approve", "CODE [--with-account-key] [flags]\n\n"+
		"Adds the machine that shows CODE (qpc device link) to the account's devices, publishes the list, and sends it\n"+
		"the contacts, verification marks and channels, sealed.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	withKey := fs.Bool("with-account-key", false, "hand the new device the account key too (it can then approve and remove devices)")
	words, err := parseWithArgs(fs, args)
	if err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc device approve", err)
		return exitUsage
	}
	if len(words) == 0 {
		fmt.Fprintln(stderr, "qpc device approve: CODE is required (qpc device link shows it on the new machine)")
		return exitUsage
	}
	code := words[0]
	for _, w := range words[1:] { // "7KQ4 M2XD 9RTA" typed with spaces
		code += w
	}
	if _, err := identity.ParseLinkCode(code); err != nil {
		printErr(stderr, "qpc device approve", err)
		return exitUsage
	}
	ctx := context.Background()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc device approve", err)
		return exitFailure
	}
	defer s.Close()
	o := session.ApproveOptions{WithAccountKey: *withKey}
	if eng, err := s.OpenChat(nil); err != nil {
		fmt.Fprintf(stderr, "qpc device approve: the contacts cannot be read, the new device gets none: %s\n", sayError(err))
	} else {
		o.Contacts, err = eng.SyncContents()
		eng.Close()
		if err != nil {
			fmt.Fprintf(stderr, "qpc device approve: the contacts cannot be read, the new device gets none: %s\n", sayError(err))
		}
	}
	start := time.Now()
	a, err := s.Approve(ctx, code, o)
	if a.Device.Name != "" {
		fmt.Fprintf(stdout, "added the device %q (id %s, key %s)\n", termtext.Safe(a.Device.Name), a.Device.ID, identity.Fingerprint(a.Device.IdentityKey))
	}
	if err != nil {
		printErr(stderr, "qpc device approve", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "sent it %d %s and %d %s (%d bytes, sealed) in %s\n", a.Contacts, plural(a.Contacts, "contact"), a.Channels, plural(a.Channels, "channel"),
		a.BundleSize, time.Since(start).Round(time.Millisecond))
	// The new device joins every group and DM of the account, one commit
	// each, once it has uploaded its KeyPackages (it does when it sees
	// itself in the list).
	if err := inEveryGroup(ctx, s, stderr, func(eng *chat.Engine) error { return eng.DeviceAdded(ctx, a.Device) }); err != nil {
		fmt.Fprintf(stderr, "qpc device approve: the new device is not in every group yet: %s\n", sayError(err))
		return exitFailure
	}
	return exitOK
}

// deviceJSON is one device in `qpc device list --json`.
type deviceJSON struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Added      time.Time `json:"added"`
	Revoked    time.Time `json:"revoked,omitzero"`
	Current    bool      `json:"current"`
	ThisDevice bool      `json:"this_device"`
	// HoldsAccountKey is known only for this device.
	HoldsAccountKey bool   `json:"holds_account_key,omitempty"`
	Key             string `json:"key"`
}

func runDeviceList(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("device list", "[--json] [flags]", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	asJSON := fs.Bool("json", false, "print the devices as JSON")
	if _, err := parseWithArgs(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc device list", err)
		return exitUsage
	}
	ctx := context.Background()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc device list", err)
		return exitFailure
	}
	defer s.Close()
	l, err := s.Devices(ctx)
	if err != nil {
		printErr(stderr, "qpc device list", err)
		return exitFailure
	}
	var out []deviceJSON
	for _, d := range l.Devices {
		this := d.ID == s.Account().DeviceID()
		out = append(out, deviceJSON{Name: d.Name, ID: d.ID.String(), Added: d.Added, Revoked: d.Revoked, Current: d.Current(),
			ThisDevice: this, HoldsAccountKey: this && s.HoldsAccountKey(), Key: identity.Fingerprint(d.IdentityKey)})
	}
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		e.Encode(struct {
			Account string       `json:"account"`
			Seq     uint64       `json:"seq"`
			Devices []deviceJSON `json:"devices"`
		}{s.Current().Address(), l.Seq, out})
		return exitOK
	}
	rows := [][]string{{"NAME", "ID", "ADDED", "STATE", ""}}
	for _, d := range out {
		state := "current"
		if !d.Current {
			state = "removed " + d.Revoked.Local().Format("2006-01-02 15:04")
		}
		note := ""
		switch {
		case d.ThisDevice && d.HoldsAccountKey:
			note = "this device, holds the account key"
		case d.ThisDevice:
			note = "this device"
		}
		rows = append(rows, []string{termtext.Safe(d.Name), d.ID, d.Added.Local().Format("2006-01-02 15:04"), state, note})
	}
	termtext.Table(stdout, rows)
	return exitOK
}

func runDeviceRemove(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("device remove", "NAME [--force] [flags]\n\n"+
		"Revokes the device NAME: the node refuses it from then on and contacts stop sealing to it. Needs the account key.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	force := fs.Bool("force", false, "remove this device too")
	words, err := parseWithArgs(fs, args)
	if err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc device remove", err)
		return exitUsage
	}
	if len(words) != 1 {
		fmt.Fprintf(stderr, "qpc device remove: give one NAME (got %d)\n", len(words))
		return exitUsage
	}
	ctx := context.Background()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc device remove", err)
		return exitFailure
	}
	defer s.Close()
	d, err := s.RemoveDevice(ctx, words[0], *force)
	if err != nil {
		printErr(stderr, "qpc device remove", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "removed the device %q (id %s): it reads nothing more\n", termtext.Safe(d.Name), d.ID)
	// The device leaves every group and DM of the account: their epochs
	// move on without it.
	if err := inEveryGroup(ctx, s, stderr, func(eng *chat.Engine) error { return eng.DeviceRemoved(ctx, d.ID) }); err != nil {
		fmt.Fprintf(stderr, "qpc device remove: the device is still in some groups: %s\n", sayError(err))
		return exitFailure
	}
	return exitOK
}

// inEveryGroup opens the account's chat engine, connected, and runs change
// on it: a device added to or removed from the account's groups.
func inEveryGroup(ctx context.Context, s *session.Session, stderr io.Writer, change func(*chat.Engine) error) error {
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		return err
	}
	defer eng.Close()
	return change(eng)
}

func runAccountRecover(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("account recover", "[--code-file FILE] [--name NAME] | --reset [--qr] [flags]\n\n"+
		"With the recovery code (printed at qpc register) and the password, makes this machine a new device that holds\n"+
		"the account key; contacts see a new device, not a key change. With --reset and no code, gives the account a new\n"+
		"account key and this machine as its only device: the old devices stop reading and contacts see a key change.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	name := fs.String("name", "", "this device's name, as people see it (default: the host name)")
	codeFile := fs.String("code-file", "", "read the recovery code from this file (default: $QPC_RECOVERY_CODE, else a prompt)")
	reset := fs.Bool("reset", false, "no recovery code: make a new account key (contacts see a key change)")
	qr := fs.Bool("qr", false, "with --reset: print the new recovery code as a QR code too")
	if _, err := parseWithArgs(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc account recover", err)
		return exitUsage
	}
	if *name != "" {
		if err := identity.CheckDeviceName(*name); err != nil {
			printErr(stderr, "qpc account recover: --name", err)
			return exitUsage
		}
	}
	cur, err := f.resolveAccount()
	if err != nil {
		printErr(stderr, "qpc account recover", err)
		return exitFailure
	}
	cfg := f.sessionConfig()
	cfg.DeviceName = *name
	ctx := context.Background()
	var s *session.Session
	if *reset {
		if s, err = session.Reset(ctx, cfg, cur); err != nil {
			printErr(stderr, "qpc account recover", err)
			return exitFailure
		}
		defer s.Close()
		fmt.Fprintf(stdout, "reset %s: a new account key; this machine is its only device.\n"+
			"Your contacts see a KEY CHANGE and must compare the new safety number with you.\n", s.Current().Address())
		printRecoveryCode(stdout, stderr, s.RecoveryCode(), *qr)
		uploadKeyPackages(ctx, s, stderr)
		return exitOK
	}
	code, err := recoveryCode(*codeFile, &f)
	if err != nil {
		printErr(stderr, "qpc account recover", err)
		return exitUsage
	}
	if _, err := identity.ParseRecoveryCode(code); err != nil {
		printErr(stderr, "qpc account recover", err)
		return exitUsage
	}
	if s, err = session.Recover(ctx, cfg, cur, code); err != nil {
		printErr(stderr, "qpc account recover", err)
		return exitFailure
	}
	defer s.Close()
	uploadKeyPackages(ctx, s, stderr)
	fmt.Fprintf(stdout, "recovered %s: this machine is its device %q and holds the account key (contacts see a new device, not a key change)\n",
		s.Current().Address(), termtext.Safe(s.State().DeviceName))
	return exitOK
}

// recoveryCode reads the recovery code from file, $QPC_RECOVERY_CODE or a
// prompt, in that order.
func recoveryCode(file string, f *clientFlags) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--code-file: %w", err)
		}
		return string(b), nil
	}
	if c := os.Getenv("QPC_RECOVERY_CODE"); c != "" {
		return c, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("no recovery code: give --code-file or set QPC_RECOVERY_CODE (stdin is not a terminal)")
	}
	fmt.Fprint(f.stderr, "Recovery code: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(f.stderr)
	return string(b), err
}

// printRecoveryCode shows code once, with the warning to keep it.
func printRecoveryCode(stdout, stderr io.Writer, code string, qr bool) {
	if code == "" {
		return
	}
	fmt.Fprintf(stdout, "recovery code  %s\n", code)
	fmt.Fprintln(stdout, "Write it down and keep it safe, away from this machine: with it and your password, `qpc account recover`\n"+
		"brings the account back on a new machine. Anyone who has it and your password can add devices. It is not shown again.")
	if qr {
		if err := qrterm.Write(stdout, code); err != nil {
			printErr(stderr, "qpc: QR code", err)
		}
	}
}

// sessionDevices is the account's devices as the REPL's /device manages
// them (repl.Devices: List, Approve, Remove), through the same session
// calls as qpc device. eng is the REPL's open chat engine: the contacts for
// the new device are read from it, since the REPL holds the chat database;
// the REPL itself then carries the change into the groups.
type sessionDevices struct {
	s   *session.Session
	eng *chat.Engine
}

// List returns the account's verified device list and this device's id.
func (d sessionDevices) List(ctx context.Context) (*identity.DeviceList, identity.DeviceID, error) {
	l, err := d.s.Devices(ctx)
	return l, d.s.Account().DeviceID(), err
}

// Approve adds the machine that shows code and seals it the contacts.
func (d sessionDevices) Approve(ctx context.Context, code string) (identity.Device, error) {
	var o session.ApproveOptions
	if d.eng != nil {
		var err error
		if o.Contacts, err = d.eng.SyncContents(); err != nil {
			return identity.Device{}, err
		}
	}
	a, err := d.s.Approve(ctx, code, o)
	return a.Device, err
}

// Remove revokes the current device called name.
func (d sessionDevices) Remove(ctx context.Context, name string, force bool) (identity.Device, error) {
	return d.s.RemoveDevice(ctx, name, force)
}
