//go:build !router

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

// session is an account logged in on its node, with its state opened.
type session struct {
	c         *client.Client
	acct      *client.Account
	state     *client.State
	exportKey []byte
	cur       client.Current
}

func (s *session) close() { s.c.Close() }

// remember keeps addr's keys, as this session resolved them, among the
// account's contacts, so that a later send can seal to addr while its node
// is not reachable (the message then waits in the mesh).
func (s *session) remember(ctx context.Context, addr string, stateDir string) error {
	pa, err := protocol.ParseRecipient(addr, s.cur.Domain)
	if err != nil {
		return err
	}
	addr = pa.String()
	b, err := s.acct.Resolve(ctx, addr)
	if err != nil {
		return err
	}
	if old, ok := s.state.Contacts[addr]; ok && old.IdentityKey.Equal(b.IdentityKey) && bytes.Equal(old.HPKEKey, b.HPKEKey) {
		return nil
	}
	if s.state.Contacts == nil {
		s.state.Contacts = map[string]identity.PublicBundle{}
	}
	s.state.Contacts[addr] = b
	return s.save(stateDir)
}

// save seals the session's state, as changed, under the account's export
// key and writes it to stateDir.
func (s *session) save(stateDir string) error {
	return client.SaveState(stateDir, s.exportKey, s.state)
}

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

// login connects and logs the account in, then opens its saved state.
// With create, a missing state gets new keys, published (qpc login on a new
// machine).
func (f *clientFlags) login(ctx context.Context, create bool) (*session, error) {
	cur, err := f.resolveAccount()
	if err != nil {
		return nil, err
	}
	if cur.User == "" || cur.Server == "" {
		return nil, errors.New("--username and --server are required (no current account)")
	}
	c, err := f.dial(ctx, cur.Server)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	h, err := c.Health(ctx)
	if err != nil {
		return nil, err
	}
	cur.Domain, cur.Fingerprint = h.Domain, c.Fingerprint()
	pw, err := f.password(fmt.Sprintf("Password for %s: ", cur.Address()), false)
	if err != nil {
		return nil, err
	}
	if f.typedPassword {
		// The node closes a connection that has not logged in within its
		// --login-timeout; a person typing may take longer.
		c.Close()
		if c, err = f.dial(ctx, cur.Server); err != nil {
			return nil, err
		}
	}
	f.fixedPassword = pw // for logging in again after a reconnect
	sess, exportKey, err := c.Login(ctx, opaqueConfig(), cur.Domain, cur.User, pw)
	if err != nil {
		return nil, err
	}
	st, err := client.LoadState(f.stateDir, cur.User, cur.Domain, exportKey)
	switch {
	case err == nil:
	case errors.Is(err, client.ErrNoState) && create:
		keys, err := identity.GenerateUserKeys()
		if err != nil {
			return nil, err
		}
		raw, _ := keys.MarshalBinary()
		st = &client.State{User: cur.User, Domain: cur.Domain, Keys: raw}
		a := &client.Account{Client: c, Domain: cur.Domain, User: cur.User, Keys: keys}
		if err := a.Publish(ctx); err != nil {
			return nil, err
		}
		if !f.registering {
			fmt.Fprintf(f.stderr, "qpc: no keys for %s on this machine: made new ones and published them (safety number %s); "+
				"people you write to will see that your keys changed.\n", cur.Address(), keys.Fingerprint())
		}
	default:
		return nil, err
	}
	keys, err := identity.UnmarshalUserKeys(st.Keys)
	if err != nil {
		return nil, fmt.Errorf("saved keys: %w", err)
	}
	st.Server, st.Fingerprint = cur.Server, cur.Fingerprint
	// The community CA comes from the pinned home node, once; keys of
	// other domains' users are checked against it from then on.
	recorded, err := st.TrustCommunityCA(h.FederationCA)
	if err != nil {
		return nil, err
	}
	if recorded {
		fmt.Fprintf(f.stderr, "qpc: trusting the community CA %s that %s hands out, to check the keys of users of other nodes.\n",
			client.CAFingerprints(st.CommunityCA), cur.Server)
	}
	st.SessionToken, st.SessionExpires = sess.Token, sess.Expires
	if err := client.SaveState(f.stateDir, exportKey, st); err != nil {
		return nil, err
	}
	if err := client.SaveCurrent(f.stateDir, cur); err != nil {
		return nil, err
	}
	ok = true
	return &session{
		c:         c,
		acct:      &client.Account{Client: c, Domain: cur.Domain, User: cur.User, Keys: keys, Known: st.Contacts, CommunityCA: st.CommunityCA},
		state:     st,
		exportKey: exportKey,
		cur:       cur,
	}, nil
}

func runRegister(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("register", "--server HOST:PORT --username NAME [flags]", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(stderr, "qpc register: %v\n", err)
		return exitUsage
	}
	if f.server == "" || f.user == "" {
		fmt.Fprintln(stderr, "qpc register: --server and --username are required")
		return exitUsage
	}
	if err := protocol.ValidateUserName(f.user); err != nil {
		fmt.Fprintf(stderr, "qpc register: --username: %v\n", err)
		return exitUsage
	}
	ctx := context.Background()
	c, err := f.dial(ctx, f.server)
	if err != nil {
		fmt.Fprintf(stderr, "qpc register: %v\n", err)
		return exitFailure
	}
	defer c.Close()
	h, err := c.Health(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "qpc register: %v\n", err)
		return exitFailure
	}
	addr := f.user + "@" + h.Domain
	pw, err := f.password(fmt.Sprintf("New password for %s: ", addr), true)
	if err != nil {
		fmt.Fprintf(stderr, "qpc register: %v\n", err)
		return exitUsage
	}
	if f.typedPassword {
		// The node closes a connection that has not logged in within its
		// --login-timeout; a person typing may take longer.
		c.Close()
		if c, err = f.dial(ctx, f.server); err != nil {
			fmt.Fprintf(stderr, "qpc register: %v\n", err)
			return exitFailure
		}
		defer c.Close()
	}
	s, err := f.register(ctx, c, h.Domain, pw)
	if err != nil {
		fmt.Fprintf(stderr, "qpc register: %v\n", err)
		return exitFailure
	}
	defer s.close()
	uploadKeyPackages(ctx, s, &f, stderr)
	fmt.Fprintf(stdout, "registered %s\nsafety number %s\n", addr, s.acct.Keys.Fingerprint())
	return exitOK
}

// register creates the account f.user on the node of c, whose domain is
// domain, with password pw, makes it the current account, and logs it in,
// which makes and publishes its keys.
func (f *clientFlags) register(ctx context.Context, c *client.Client, domain string, pw []byte) (*session, error) {
	fmt.Fprintf(f.stderr, "registering %s@%s (stretching the password takes a moment)...\n", f.user, domain)
	if _, err := c.Register(ctx, opaqueConfig(), domain, f.user, pw); err != nil {
		return nil, err
	}
	f.server, f.pin = c.Addr(), c.Fingerprint()
	if err := client.SaveCurrent(f.stateDir, client.Current{User: f.user, Domain: domain, Server: c.Addr(), Fingerprint: c.Fingerprint()}); err != nil {
		return nil, err
	}
	s, err := f.withPassword(pw).login(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("registered, but logging in failed: %w", err)
	}
	return s, nil
}

// withPassword returns flags that answer the password question with pw,
// so that register does not ask twice.
func (f *clientFlags) withPassword(pw []byte) *clientFlags {
	g := *f
	g.fixedPassword = pw
	g.registering = true
	return &g
}

func runLogin(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("login", "[--server HOST:PORT] [--username NAME] [flags]", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(stderr, "qpc login: %v\n", err)
		return exitUsage
	}
	s, err := f.login(context.Background(), true)
	if err != nil {
		fmt.Fprintf(stderr, "qpc login: %v\n", err)
		return exitFailure
	}
	defer s.close()
	uploadKeyPackages(context.Background(), s, &f, stderr)
	fmt.Fprintf(stdout, "logged in as %s until %s\n", s.cur.Address(), s.state.SessionExpires.Local().Format("2006-01-02 15:04"))
	return exitOK
}

func runWhoami(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("whoami", "[--state-dir DIR]", stderr)
	stateDir := fs.String("state-dir", client.DefaultStateDir(), "where the client state lives")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	cur, err := client.LoadCurrent(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "qpc whoami: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s\nnode         %s\nfingerprint  %s\n", cur.Address(), cur.Server, cur.Fingerprint)
	return exitOK
}
