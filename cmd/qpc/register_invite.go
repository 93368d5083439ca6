//go:build !router

package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/protocol"
)

// askInvite settles the invite code of a registration on the node of h
// before the password is asked: a closed node refuses at once; a node that
// registers by invite wants a code, asked for on a terminal (in) when
// --invite gave none, and refused without one elsewhere.
func (f *clientFlags) askInvite(in *os.File, h protocol.Health) error {
	if f.invite != "" {
		return nil // a reset account's code works under any policy
	}
	switch h.Registration {
	case protocol.RegistrationClosed:
		return protocol.ErrRegistrationClosed
	case protocol.RegistrationInvite:
	default:
		return nil
	}
	if !term.IsTerminal(int(in.Fd())) {
		return protocol.ErrInviteRequired
	}
	fmt.Fprintf(f.stderr, "%s registers new accounts by invite. Invite code (from its admin): ", termtext.Safe(h.Domain))
	code, err := readAnswer(in)
	if err != nil {
		return err
	}
	if f.invite = strings.TrimSpace(code); f.invite == "" {
		return protocol.ErrInviteRequired
	}
	return nil
}
