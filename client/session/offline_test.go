package session_test

import (
	"errors"
	"testing"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/session"
)

// With its node gone, an account whose offline key this machine keeps
// opens with its password alone (issue 24: qpc repl exited "no answer from
// node" before it asked for the password), and what needs the node fails
// as offline.
func TestAnAccountOpensWithoutItsNodeFromItsOfflineKey(t *testing.T) {
	n := startNode(t)
	p := newPerson(t, n, "alice")
	s := p.register()
	cur := s.Current()
	if session.CanOpenOffline(p.config(), cur) {
		t.Fatal("an offline key before KeepOfflineKey")
	}
	if err := s.KeepOfflineKey(); err != nil {
		t.Fatal(err)
	}
	if !session.CanOpenOffline(p.config(), cur) {
		t.Fatal("no offline key after KeepOfflineKey")
	}
	want := s.Account().DeviceID()
	s.Close()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	off, err := session.OpenOffline(p.config(), cur)
	if err != nil {
		t.Fatalf("open offline: %v", err)
	}
	defer off.Close()
	if got := off.Account().DeviceID(); got != want {
		t.Errorf("device %s offline, %s online", got, want)
	}
	if p.asked != 1 {
		t.Errorf("asked for the password %d times, want 1", p.asked)
	}
	if _, err := off.Account().Client.ResolveUser(ctxT(t), "bob"); !errors.Is(err, client.ErrOffline) {
		t.Errorf("a call offline: %v, want client.ErrOffline", err)
	}

	p.pw = []byte("not the password")
	if _, err := session.OpenOffline(p.config(), cur); !errors.Is(err, client.ErrWrongPassword) {
		t.Errorf("a wrong password offline: %v, want ErrWrongPassword", err)
	}
}
