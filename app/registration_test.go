package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// Issue 27's registration policy and admin actions against a real node
// over QUIC with its bbolt store. The admin's actions are taken through
// the admin socket's backend; the socket itself is tested in node/admin
// and by cmd/qpc's process tests.

func register(t *testing.T, n *running, user, pw, invite string) error {
	t.Helper()
	_, err := dialN(t, n).RegisterWithInvite(ctxT(t), fastOPAQUE, n.cfg.Domain, user, []byte(pw), invite)
	return err
}

func loginAs(t *testing.T, n *running, user, pw string) error {
	t.Helper()
	_, _, err := dialN(t, n).Login(ctxT(t), fastOPAQUE, n.cfg.Domain, user, []byte(pw))
	return err
}

func refused(n *running, reason string) float64 { return n.metrics.regRefused.With(reason).Value() }

func TestInviteOnlyRegistration(t *testing.T) {
	cfg := testConfig(t)
	cfg.Registration = protocol.RegistrationInvite
	n := start(t, cfg)
	admin := adminBackend{n.Node}

	if h, err := dialN(t, n).Health(ctxT(t)); err != nil || h.Registration != protocol.RegistrationInvite {
		t.Fatalf("health says registration %q (%v), want invite", h.Registration, err)
	}
	if err := register(t, n, "ann", "pw", ""); !errors.Is(err, protocol.ErrInviteRequired) {
		t.Fatalf("without a code: %v, want ErrInviteRequired", err)
	}
	if err := register(t, n, "ann", "pw", "abcde-abcde-abcde-abcde"); !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("with a code never made: %v, want ErrInviteInvalid", err)
	}
	one, err := admin.CreateInvite(1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// As a person may type it: upper case, spaces for the dashes.
	typed := strings.ToUpper(strings.ReplaceAll(one.Code, "-", " "))
	if err := register(t, n, "ann", "pw-ann", typed); err != nil {
		t.Fatalf("with a good code typed %q: %v", typed, err)
	}
	if err := loginAs(t, n, "ann", "pw-ann"); err != nil {
		t.Fatalf("ann's login: %v", err)
	}
	if err := register(t, n, "bob", "pw", one.Code); !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("with a used code: %v, want ErrInviteInvalid", err)
	}
	expired := node.NewInviteCode()
	past := time.Now().Add(-2 * time.Hour)
	if err := n.store.CreateInvite(node.HashInvite(expired), node.Invite{UsesLeft: 5, Created: past, Expires: past.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := register(t, n, "bob", "pw", expired); !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("with an expired code: %v, want ErrInviteInvalid", err)
	}
	two, err := admin.CreateInvite(2, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"bob", "cy"} {
		if err := register(t, n, user, "pw", two.Code); err != nil {
			t.Fatalf("%s with a two-use code: %v", user, err)
		}
	}
	if got := refused(n, node.RefusedInviteRequired); got != 1 {
		t.Errorf("refused for want of a code: %v, want 1", got)
	}
	if got := refused(n, node.RefusedInviteInvalid); got != 3 {
		t.Errorf("refused for a bad code: %v, want 3", got)
	}
	if got := n.metrics.summary().RegistrationsRefused; got != 4 {
		t.Errorf("admin summary of refused registrations: %d, want 4", got)
	}
}

func TestRegistrationRateLimitsHoldWithAnInvite(t *testing.T) {
	cfg := testConfig(t)
	cfg.Registration = protocol.RegistrationInvite
	cfg.RegisterRate = 2 // one registration (two calls) per hour from one address
	n := start(t, cfg)
	inv, err := adminBackend{n.Node}.CreateInvite(5, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(t, n, "ann", "pw", inv.Code); err != nil {
		t.Fatal(err)
	}
	if err := register(t, n, "bob", "pw", inv.Code); !errors.Is(err, protocol.ErrRateLimited) {
		t.Fatalf("second registration from the address: %v, want ErrRateLimited", err)
	}
	if got := refused(n, node.RefusedRate); got != 1 {
		t.Errorf("refused by rate: %v, want 1", got)
	}
	invs, err := adminBackend{n.Node}.Invites()
	if err != nil || len(invs.Invites) != 1 || invs.Invites[0].UsesLeft != 4 {
		t.Fatalf("invites after one registration and one throttled: %+v, %v; want 4 uses left", invs, err)
	}
}

func TestClosedRegistrationTakesBackAResetAccountOnly(t *testing.T) {
	cfg := testConfig(t)
	cfg.Registration = protocol.RegistrationClosed
	n := start(t, cfg)
	admin := adminBackend{n.Node}
	if err := register(t, n, "ann", "pw", ""); !errors.Is(err, protocol.ErrRegistrationClosed) {
		t.Fatalf("closed node: %v, want ErrRegistrationClosed", err)
	}
	inv, err := admin.CreateInvite(1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(t, n, "ann", "pw", inv.Code); !errors.Is(err, protocol.ErrRegistrationClosed) {
		t.Fatalf("closed node with an invite: %v, want ErrRegistrationClosed", err)
	}
	if got := refused(n, node.RefusedClosed); got != 2 {
		t.Errorf("refused as closed: %v, want 2", got)
	}
	// An account from before the node closed, which its owner lost the
	// password of.
	if err := n.store.CreateAccount(node.Account{User: "bob", Record: []byte("lost"), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r, err := admin.ResetUser(ctxT(t), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := register(t, n, "bob", "new password", r.Code); err != nil {
		t.Fatalf("bob with his reset code on a closed node: %v", err)
	}
	if err := loginAs(t, n, "bob", "new password"); err != nil {
		t.Fatalf("bob's new password: %v", err)
	}
}

func TestAdminResetMakesTheOwnerRegisterAgain(t *testing.T) {
	cfg := testConfig(t)
	cfg.Registration = protocol.RegistrationInvite
	n := start(t, cfg)
	admin := adminBackend{n.Node}
	inv, err := admin.CreateInvite(1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(t, n, "ann", "old password", inv.Code); err != nil {
		t.Fatal(err)
	}
	live := dialN(t, n)
	if _, _, err := live.Login(ctxT(t), fastOPAQUE, n.cfg.Domain, "ann", []byte("old password")); err != nil {
		t.Fatal(err)
	}
	r, err := admin.ResetUser(ctxT(t), "ann")
	if err != nil || r.Reset != "ann" || r.Code == "" {
		t.Fatalf("reset: %+v, %v", r, err)
	}
	select {
	case <-live.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the reset left ann's connection open")
	}
	// As for a user that does not exist: the node's fake answer fails
	// on the client.
	if err := loginAs(t, n, "ann", "old password"); !errors.Is(err, client.ErrWrongPassword) {
		t.Fatalf("the old password after the reset: %v, want ErrWrongPassword", err)
	}
	if err := register(t, n, "eve", "pw", r.Code); !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("another name with ann's reset code: %v, want ErrInviteInvalid", err)
	}
	if err := register(t, n, "ann", "pw", ""); !errors.Is(err, protocol.ErrInviteRequired) {
		t.Fatalf("ann without the code: %v, want ErrInviteRequired", err)
	}
	if err := register(t, n, "ann", "new password", r.Code); err != nil {
		t.Fatalf("ann with her reset code: %v", err)
	}
	if err := loginAs(t, n, "ann", "new password"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if err := register(t, n, "ann", "third", r.Code); !errors.Is(err, protocol.ErrInviteInvalid) {
		t.Fatalf("the reset code a second time: %v, want ErrInviteInvalid", err)
	}
}

func TestDrainRefusesNewClientsAndKeepsSessions(t *testing.T) {
	n := start(t, testConfig(t))
	a := newAccount(t, n, "ann")
	adminBackend{n.Node}.Drain(true)
	if _, err := a.Client.Fetch(ctxT(t), 0, 10); err != nil {
		t.Fatalf("a session open before the drain: %v", err)
	}
	c, err := dial(t, n.Addr().String(), transport.Trust{Pin: n.Fingerprint()})
	if err == nil {
		_, _, err = c.Login(ctxT(t), fastOPAQUE, n.cfg.Domain, "ann", pwOf("ann"))
		c.Close()
	}
	if err == nil {
		t.Fatal("a new client logged in while draining")
	}
	if err := loginAs(t, n, "ann", string(pwOf("ann"))); err == nil {
		t.Fatal("a login while draining succeeded")
	}
	adminBackend{n.Node}.Drain(false)
	if err := loginAs(t, n, "ann", string(pwOf("ann"))); err != nil {
		t.Fatalf("a login after the drain: %v", err)
	}
}

func TestAdminSocketIsPrivateOrAbsent(t *testing.T) {
	cfg := testConfig(t)
	n := start(t, cfg)
	path := filepath.Join(cfg.DataDir, config.AdminSocketFile)
	if got := n.AdminSocket(); got != path {
		t.Fatalf("admin socket %q, want %q", got, path)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v, %v; want a socket of mode 0600", fi, err)
	}

	off := testConfig(t)
	off.AdminSocket = ""
	m := start(t, off)
	if m.AdminSocket() != "" {
		t.Fatalf("with --admin-socket \"\": %q", m.AdminSocket())
	}
	if _, err := os.Lstat(filepath.Join(off.DataDir, config.AdminSocketFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("with --admin-socket \"\" a socket file exists: %v", err)
	}
	n.stop()
	n.wait(t)
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the stopped node left its admin socket: %v", err)
	}
}
