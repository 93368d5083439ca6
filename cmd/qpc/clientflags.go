package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/transport"
)

// clientFlags are the flags every command that talks to a node shares.
type clientFlags struct {
	server, pin, caCert, knownNodes string
	timeout                         time.Duration
	user, passwordFile, stateDir    string
	stderr                          io.Writer
	fixedPassword                   []byte // already asked for
	typedPassword                   bool   // fixedPassword came from the terminal
	// pqOnly is --pq-only: publish post-quantum KeyPackages only and
	// refuse to create or join classic MLS groups (chat.Options.PQOnly).
	pqOnly bool
	// deviceName names this machine's device when it becomes one
	// (register --name).
	deviceName string
	// invite is qpc register's --invite, or the code asked for.
	invite string
	// checkNew judges a new password (password with confirm): register
	// refuses a weak one with the reason.
	checkNew func(pw []byte) error
	// passwordEnv is the environment variable password reads; empty
	// means QPC_PASSWORD (account password reads the new one from
	// QPC_NEW_PASSWORD).
	passwordEnv string
}

// newPasswordTries is how often a person at a terminal may type a new
// password that is refused (too weak, or not repeated the same) before
// the command gives up.
const newPasswordTries = 3

func (f *clientFlags) bind(fs *flag.FlagSet, stderr io.Writer, account bool) {
	f.stderr = stderr
	fs.StringVar(&f.server, "server", "", "node address, host:port, or auto to find one nearby with mDNS")
	fs.StringVar(&f.pin, "pin", "", "expected SHA-256 fingerprint of the node's certificate, hex")
	fs.StringVar(&f.caCert, "ca-cert", "", "PEM file of CA certificates the node's certificate must chain to")
	fs.StringVar(&f.knownNodes, "known-nodes", client.DefaultKnownNodesPath(),
		"trust-on-first-use record, used when neither --pin nor --ca-cert is given")
	fs.BoolVar(&debugErrors, "debug", debugErrors, "on an error, print its cause as the program sees it too (env QPC_DEBUG=1)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "give up on the node (connecting, or a send) after this long")
	if account {
		fs.StringVar(&f.user, "username", "", "account name (default: the current account)")
		fs.StringVar(&f.passwordFile, "password-file", "", "read the password from this file's first line (default: $QPC_PASSWORD, else a prompt)")
		fs.StringVar(&f.stateDir, "state-dir", client.DefaultStateDir(), "where the encrypted client state lives")
		fs.BoolVar(&f.pqOnly, "pq-only", os.Getenv("QPC_PQ_ONLY") == "1",
			"groups and DMs: publish post-quantum key packages only and refuse to create or join classic (not post-quantum) groups (env QPC_PQ_ONLY=1)")
	}
}

// check validates the flags that need no I/O.
func (f *clientFlags) check() error {
	if f.pin != "" && f.caCert != "" {
		return errors.New("give --pin or --ca-cert, not both")
	}
	if f.pin != "" {
		if _, err := transport.ParseFingerprint(f.pin); err != nil {
			return fmt.Errorf("--pin: %w", err)
		}
	}
	if f.timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	f.server = withDefaultPort(f.server)
	return nil
}

// withDefaultPort completes a --server without a port with the port
// every node listens on unless told otherwise: `--server 10.0.0.1` is
// what people type.
func withDefaultPort(server string) string {
	if server == "" || server == client.AutoServer {
		return server
	}
	if _, _, err := net.SplitHostPort(server); err == nil {
		return server
	}
	host := strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return server // neither a host nor an IPv6 address: Dial says so
	}
	return net.JoinHostPort(host, strconv.Itoa(config.DefaultPort))
}

// trust builds the certificate check for the server address.
func (f *clientFlags) trust(server string) transport.Trust {
	t := transport.Trust{Pin: f.pin, CAFile: f.caCert}
	if f.pin == "" && f.caCert == "" {
		kn := &client.KnownNodes{Path: f.knownNodes, Warn: func(server, fp string) {
			fmt.Fprintf(f.stderr, "qpc: WARNING: first contact with %s; trusting its certificate %s from now on (recorded in %s). "+
				"Compare the fingerprint with the one the node's admin gives you, or use --pin.\n", server, fp, f.knownNodes)
		}}
		t.TOFU = func(fp string) error { return kn.Check(server, fp) }
	}
	return t
}

// serverOfCurrentAccount fills an empty --server with the node of the
// current account in stateDir, pinned to the certificate that account was
// made with unless --pin or --ca-cert say otherwise, for the commands that
// ask a node without logging in. It reports false when --server is empty
// and there is no current account to take it from.
func (f *clientFlags) serverOfCurrentAccount(stateDir string) bool {
	if f.server != "" {
		return true
	}
	cur, err := client.LoadCurrent(stateDir)
	if err != nil || cur.Server == "" {
		return false
	}
	f.server = cur.Server
	if f.pin == "" && f.caCert == "" {
		f.pin = cur.Fingerprint // the node the account was made on
	}
	return true
}

// dial connects to server within the timeout.
func (f *clientFlags) dial(ctx context.Context, server string) (*client.Client, error) {
	if server == client.AutoServer {
		if err := f.resolveAuto(ctx); err != nil {
			return nil, err
		}
		server = f.server
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	c, err := client.Dial(ctx, server, f.trust(server), nil)
	if errors.Is(err, client.ErrNoAnswer) {
		err = fmt.Errorf("%w within %s", err, f.timeout)
	}
	return c, err
}

// ask dials server and runs fn against the node within --timeout; when
// the time runs out, the error says that the node did not answer.
func (f *clientFlags) ask(server string, fn func(ctx context.Context, c *client.Client) error) error {
	c, err := f.dial(context.Background(), server)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if err := fn(ctx, c); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%s: %w within %s", c.Addr(), client.ErrNoAnswer, f.timeout)
		}
		return err
	}
	return nil
}

// password returns the password from --password-file, $QPC_PASSWORD or a
// prompt on the terminal (asked twice when confirm is set).
func (f *clientFlags) password(prompt string, confirm bool) ([]byte, error) {
	if f.fixedPassword != nil {
		return f.fixedPassword, nil
	}
	if f.passwordFile != "" {
		file, err := os.Open(f.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		defer file.Close()
		line, err := bufio.NewReader(file).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		return f.checkNewIf(confirm, []byte(strings.TrimRight(line, "\r\n")))
	}
	env := f.passwordEnv
	if env == "" {
		env = "QPC_PASSWORD"
	}
	if pw, ok := os.LookupEnv(env); ok {
		return f.checkNewIf(confirm, []byte(pw))
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errors.New("no password: give --password-file or set QPC_PASSWORD (stdin is not a terminal)")
	}
	read := func(prompt string) ([]byte, error) {
		fmt.Fprint(f.stderr, prompt)
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(f.stderr)
		return pw, err
	}
	f.typedPassword = true
	if !confirm {
		pw, err := read(prompt)
		if err != nil {
			return nil, err
		}
		return checkPassword(pw)
	}
	// A new password: a refused one, or a typo in the repetition, asks
	// again instead of ending the command.
	var refused error
	for range newPasswordTries {
		pw, err := read(prompt)
		if err != nil {
			return nil, err
		}
		if _, refused = f.checkNewIf(true, pw); refused != nil {
			fmt.Fprintf(f.stderr, "%v; try another\n", refused)
			continue
		}
		again, err := read("Repeat it: ")
		if err != nil {
			return nil, err
		}
		if string(again) != string(pw) {
			refused = errPasswordsDiffer
			fmt.Fprintln(f.stderr, "the passwords differ; type it again")
			continue
		}
		return pw, nil
	}
	return nil, refused
}

// errPasswordsDiffer means the repetition of a new password was not the
// same.
var errPasswordsDiffer = errors.New("the passwords differ")

// checkNewIf checks pw as any password, and with f.checkNew too when it
// is a new one.
func (f *clientFlags) checkNewIf(isNew bool, pw []byte) ([]byte, error) {
	pw, err := checkPassword(pw)
	if err == nil && isNew && f.checkNew != nil {
		err = f.checkNew(pw)
	}
	if err != nil {
		return nil, err
	}
	return pw, nil
}

func checkPassword(pw []byte) ([]byte, error) {
	if len(pw) == 0 {
		return nil, errors.New("empty password")
	}
	return pw, nil
}

// opaqueConfig is the OPAQUE configuration of the CLI: qpc's default,
// with Argon2id.
func opaqueConfig() opaque.Config { return opaque.DefaultConfig() }
