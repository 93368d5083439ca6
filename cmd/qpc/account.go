//go:build !router

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// resolveAccount fills --server and --username from the current account
// when they are not given.
func (f *clientFlags) resolveAccount() (client.Current, error) {
	cur, err := client.LoadCurrent(f.stateDir)
	if err != nil && (f.server == "" || f.user == "") {
		return cur, err
	}
	if f.server == client.AutoServer && f.pin == "" && f.caCert == "" {
		f.pin = cur.Fingerprint // find the account's node wherever it is now
	}
	if err := f.resolveAuto(context.Background()); err != nil {
		return cur, err
	}
	if f.user != "" && f.user != cur.User {
		cur = client.Current{User: f.user, Server: cur.Server, Fingerprint: cur.Fingerprint}
	}
	if f.server != "" && f.server != cur.Server {
		cur.Server, cur.Fingerprint = f.server, ""
	}
	if f.pin == "" && f.caCert == "" && cur.Fingerprint != "" {
		f.pin = cur.Fingerprint // the node this account was made on
	}
	return cur, nil
}

// sessionConfig is how a session of the account reaches its node and
// its person: dialled with these flags' trust and timeout, the password
// from --password-file, $QPC_PASSWORD or a prompt, notices on stderr.
func (f *clientFlags) sessionConfig() session.Config {
	return session.Config{
		StateDir: f.stateDir,
		Dial:     f.dial,
		Password: func(prompt string) ([]byte, bool, error) {
			pw, err := f.password(prompt, false)
			if err != nil {
				return nil, false, err
			}
			f.fixedPassword = pw // for logging in again after a reconnect
			return pw, f.typedPassword, nil
		},
		OldPassword: func(prompt string) ([]byte, error) {
			_, set := os.LookupEnv("QPC_OLD_PASSWORD")
			if !set && !term.IsTerminal(int(os.Stdin.Fd())) {
				return nil, fmt.Errorf("%w: give the old password in $QPC_OLD_PASSWORD", session.ErrPasswordChangedElsewhere)
			}
			old := clientFlags{stderr: f.stderr, passwordEnv: "QPC_OLD_PASSWORD"}
			return old.password(prompt, false)
		},
		// Notices quote nodes (domains, device names in alarms): made safe.
		Notices:    func(text string) { fmt.Fprintf(f.stderr, "qpc: %s\n", termtext.Safe(text)) },
		OPAQUE:     opaqueConfig(),
		PQOnly:     f.pqOnly,
		DeviceName: f.deviceName,
		Invite:     f.invite,
	}
}

// login connects and logs the account in, then opens its saved state. It
// never makes keys: on a machine that is not yet a device of the account
// it fails with a *session.NotADeviceError that says what to do.
func (f *clientFlags) login(ctx context.Context) (*session.Session, error) {
	cur, err := f.resolveAccount()
	if err != nil {
		return nil, err
	}
	s, err := session.Login(ctx, f.sessionConfig(), cur)
	if errors.Is(err, session.ErrNoAccount) {
		return nil, errors.New("--username and --server are required (no current account)")
	}
	return s, err
}

func runRegister(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("register", "--server HOST:PORT --username NAME [flags]", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	qr := fs.Bool("qr", false, "print the recovery code as a QR code too")
	name := fs.String("name", "", "this device's name, as people see it (default: the host name)")
	fs.StringVar(&f.invite, "invite", "", "invite code from the node's admin (asked for on a terminal when the node wants one)")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if *name != "" {
		if err := identity.CheckDeviceName(*name); err != nil {
			printErr(stderr, "qpc register: --name", err)
			return exitUsage
		}
		f.deviceName = *name
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc register", err)
		return exitUsage
	}
	if f.server == "" || f.user == "" {
		fmt.Fprintln(stderr, "qpc register: --server and --username are required")
		return exitUsage
	}
	// User names are the same in any case (protocol.ParseUser): Carol
	// registers carol, as she is addressed.
	user, err := protocol.ParseUser(f.user)
	if err != nil {
		printErr(stderr, "qpc register: --username", err)
		return exitUsage
	}
	f.user = user
	ctx := context.Background()
	c, err := f.dial(ctx, f.server)
	if err != nil {
		printErr(stderr, "qpc register", err)
		return exitFailure
	}
	defer c.Close()
	h, err := c.Health(ctx)
	if err != nil {
		printErr(stderr, "qpc register", err)
		return exitFailure
	}
	addr := f.user + "@" + h.Domain
	// The invite, like a taken name, is settled before the password.
	if err := f.askInvite(os.Stdin, h); err != nil {
		printErr(stderr, "qpc register", err)
		return exitFailure
	}
	// A taken name is said before the password is asked, not after it was
	// typed twice; a node older than nameAvailable is asked at
	// registration, as before. With an invite the node decides: the
	// owner of an account the admin reset takes its own name back.
	if f.invite == "" {
		if err := checkNameFree(ctx, c, f.user); err != nil {
			printErr(stderr, "qpc register", fmt.Errorf("%s: %w", addr, err))
			return exitFailure
		}
	}
	f.checkNew = func(pw []byte) error { return checkNewPassword(pw, f.user) }
	pw, err := f.password(fmt.Sprintf("New password for %s: ", addr), true)
	if err != nil {
		printErr(stderr, "qpc register", err)
		return exitUsage
	}
	if f.typedPassword {
		// The node closes a connection that has not logged in within its
		// --login-timeout; a person typing may take longer.
		c.Close()
		if c, err = f.dial(ctx, f.server); err != nil {
			printErr(stderr, "qpc register", err)
			return exitFailure
		}
		defer c.Close()
	}
	s, err := f.register(ctx, c, h.Domain, pw)
	if err != nil {
		printErr(stderr, "qpc register", err)
		return exitFailure
	}
	defer s.Close()
	uploadKeyPackages(ctx, s, stderr)
	// The account key is what contacts know the account by (the safety
	// number is made of it), not this device's key. One word for one
	// thing: the short hex is the key fingerprint; "safety number" is
	// only the 60 digits qpc verify shows.
	fmt.Fprintf(stdout, "registered %s\nkey fingerprint   %s (of the account key; compare safety numbers with qpc verify NAME)\n",
		addr, identity.Fingerprint(s.Account().PublicAccountKey()))
	fmt.Fprintf(stdout, "this device       %q (id %s)\n", termtext.Safe(s.State().DeviceName), s.Account().DeviceID())
	printRecoveryCode(stdout, stderr, s.RecoveryCode(), *qr)
	return exitOK
}

// checkNameFree returns protocol.ErrUserExists when the node says user is
// taken (or not a name it would register), and nil when it is free or the
// node cannot tell now (client.ErrNoNameCheck from an older node, or a
// rate limit that the neighbours behind one address share: registration
// tells then).
func checkNameFree(ctx context.Context, c *client.Client, user string) error {
	ok, err := c.NameAvailable(ctx, user)
	switch {
	case errors.Is(err, client.ErrNoNameCheck), errors.Is(err, protocol.ErrRateLimited):
		return nil
	case err != nil:
		return err
	case !ok:
		return protocol.ErrUserExists
	}
	return nil
}

// register creates the account f.user on the node of c, whose domain is
// domain, with password pw, makes it the current account, and logs it in,
// which makes and publishes its keys.
func (f *clientFlags) register(ctx context.Context, c *client.Client, domain string, pw []byte) (*session.Session, error) {
	fmt.Fprintf(f.stderr, "registering %s@%s (stretching the password takes a moment)...\n", f.user, domain)
	// The login after it dials the node again: pinned to the certificate
	// this connection saw.
	f.server, f.pin = c.Addr(), c.Fingerprint()
	f.fixedPassword = pw
	return session.Register(ctx, f.sessionConfig(), c, f.user, domain, pw)
}

func runLogin(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("login", "[--server HOST:PORT] [--username NAME] [flags]", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc login", err)
		return exitUsage
	}
	s, err := f.login(context.Background())
	if err != nil {
		printErr(stderr, "qpc login", err)
		return exitFailure
	}
	defer s.Close()
	uploadKeyPackages(context.Background(), s, stderr)
	fmt.Fprintf(stdout, "logged in as %s until %s\n", s.Current().Address(), s.State().SessionExpires.Local().Format("2006-01-02 15:04"))
	return exitOK
}

func runWhoami(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("whoami", "[--state-dir DIR]", stderr)
	stateDir := fs.String("state-dir", client.DefaultStateDir(), "where the client state lives")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	cur, err := client.LoadCurrent(*stateDir)
	if err != nil {
		printErr(stderr, "qpc whoami", err)
		return exitFailure
	}
	// The node's certificate, not a key of the account: named so.
	fmt.Fprintf(stdout, "%s\nnode              %s\nnode certificate  %s\n", cur.Address(), cur.Server, cur.Fingerprint)
	return exitOK
}
