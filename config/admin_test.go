package config

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/quicprochat/qpc/protocol"
)

func TestRegistrationPolicyIsOneOfThree(t *testing.T) {
	for _, p := range []string{protocol.RegistrationOpen, protocol.RegistrationInvite, protocol.RegistrationClosed} {
		if c, err := load(t, []string{"--registration", p}, nil); err != nil || c.Registration != p {
			t.Errorf("--registration %s: %q, %v", p, c.Registration, err)
		}
	}
	if c, _ := load(t, nil, nil); c.Registration != protocol.RegistrationOpen {
		t.Errorf("default registration %q, want open", c.Registration)
	}
	_, err := load(t, nil, map[string]string{"QPC_REGISTRATION": "invites"})
	var fe *FlagError
	if !errors.Is(err, ErrBadRegistration) || !errors.As(err, &fe) || fe.Flag != "registration" || fe.Env != "QPC_REGISTRATION" {
		t.Fatalf("QPC_REGISTRATION=invites: %v", err)
	}
}

func TestAdminSocketDefaultsToTheDataDirAndEmptyTurnsItOff(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.AdminSocketPath() != filepath.Join(c.DataDir, "admin.sock") {
		t.Fatalf("default admin socket %q, %v", c.AdminSocketPath(), err)
	}
	if c, err = load(t, []string{"--admin-socket", ""}, nil); err != nil || c.AdminSocketPath() != "" {
		t.Fatalf("--admin-socket \"\": %q, %v", c.AdminSocketPath(), err)
	}
	if c, err = load(t, nil, map[string]string{"QPC_ADMIN_SOCKET": "/run/qpc.sock"}); err != nil || c.AdminSocketPath() != "/run/qpc.sock" {
		t.Fatalf("QPC_ADMIN_SOCKET: %q, %v", c.AdminSocketPath(), err)
	}
}
