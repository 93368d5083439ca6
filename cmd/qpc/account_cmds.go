//go:build !router

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// qpc account password, logout, delete and forget (issue 27,
// docs/accounts.md): what a person does with their account as a whole.

// errNotConfirmed means the person did not type the account's address to
// confirm its deletion.
var errNotConfirmed = errors.New("not confirmed: the address typed is not the account's; nothing was deleted")

// newPasswordFlags reads a new password for the account user: from file's
// first line, else $QPC_NEW_PASSWORD, else the terminal, twice, refusing a
// weak one as register does.
func (f *clientFlags) newPasswordFlags(file, user string) *clientFlags {
	return &clientFlags{
		stderr:       f.stderr,
		passwordFile: file,
		passwordEnv:  "QPC_NEW_PASSWORD",
		checkNew:     func(pw []byte) error { return checkNewPassword(pw, user) },
	}
}

func runAccountPassword(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("account password", "[--password-file FILE] [--new-password-file FILE] [flags]\n\n"+
		"Logs in with the current password (--password-file, $QPC_PASSWORD or a prompt) and gives the account a new one\n"+
		"(--new-password-file, $QPC_NEW_PASSWORD or a prompt, typed twice). The account key, devices, messages and groups\n"+
		"stay; every other session of the account ends, and its other devices log in again with the new password.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	newFile := fs.String("new-password-file", "", "read the new password from this file's first line (default: $QPC_NEW_PASSWORD, else a prompt)")
	if _, err := parseWithArgs(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc account password", err)
		return exitUsage
	}
	// Found out before the login, which asks for the current password.
	if _, set := os.LookupEnv("QPC_NEW_PASSWORD"); *newFile == "" && !set && !term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprintln(stderr, "qpc account password: no new password: give --new-password-file or set QPC_NEW_PASSWORD (stdin is not a terminal)")
		return exitUsage
	}
	ctx := context.Background()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc account password", err)
		return exitFailure
	}
	defer s.Close()
	addr := s.Current().Address()
	pw, err := f.newPasswordFlags(*newFile, s.Current().User).password(fmt.Sprintf("New password for %s: ", addr), true)
	if err != nil {
		printErr(stderr, "qpc account password", err)
		return exitFailure
	}
	if err := s.ChangePassword(ctx, pw); err != nil {
		printErr(stderr, "qpc account password", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "password of %s changed; its other sessions ended: its other devices log in again with the new password\n", termtext.Safe(addr))
	return exitOK
}

func runAccountLogout(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("account logout", "[--everywhere] [flags]\n\n"+
		"Ends this machine's session of the account on its node and forgets its token here; with --everywhere, every\n"+
		"session of the account, on every device (each logs in again with the password). It logs in first, so it asks\n"+
		"for the password.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	everywhere := fs.Bool("everywhere", false, "end every session of the account, on every device")
	if _, err := parseWithArgs(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc account logout", err)
		return exitUsage
	}
	ctx := context.Background()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc account logout", err)
		return exitFailure
	}
	defer s.Close()
	n, err := s.Logout(ctx, *everywhere)
	if err != nil {
		printErr(stderr, "qpc account logout", err)
		return exitFailure
	}
	where := "on this machine"
	if *everywhere {
		where = "everywhere"
	}
	fmt.Fprintf(stdout, "logged out of %s %s: %d session(s) ended\n", termtext.Safe(s.Current().Address()), where, n)
	return exitOK
}

func runAccountDelete(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("account delete", "[--yes] [flags]\n\n"+
		"Deletes the account on its node: its keys, messages and sessions, on every device; its name is held for a while.\n"+
		"Asks to type the account's address to confirm, unless --yes. Once the node confirmed, removes what this machine\n"+
		"keeps of the account (its state, chat history, offline key).", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	yes := fs.Bool("yes", false, "do not ask to type the address")
	if _, err := parseWithArgs(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc account delete", err)
		return exitUsage
	}
	ctx := context.Background()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc account delete", err)
		return exitFailure
	}
	defer s.Close()
	addr := s.Current().Address()
	if !*yes {
		if err := confirmAddress(stderr, addr); err != nil {
			printErr(stderr, "qpc account delete", err)
			return exitFailure
		}
	}
	if err := s.DeleteAccount(ctx); err != nil {
		printErr(stderr, "qpc account delete", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "deleted %s on its node and on this machine\n", termtext.Safe(addr))
	return exitOK
}

// confirmAddress asks the person at the terminal to type addr.
func confirmAddress(stderr io.Writer, addr string) error {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return errors.New("stdin is not a terminal: give --yes to delete without typing the address")
	}
	fmt.Fprintf(stderr, "This deletes %s, its messages and keys on every device. Type the address to confirm: ", termtext.Safe(addr))
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(line), addr) {
		return errNotConfirmed
	}
	return nil
}

func runAccountForget(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("account forget", "[--username NAME] [--state-dir DIR]\n\n"+
		"Removes what this machine keeps of the account (state, chat history, offline key) and nothing on its node:\n"+
		"for a device whose data no longer opens after a password change elsewhere. Link it again with qpc device link.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	if _, err := parseWithArgs(fs, args); err != nil {
		return parseError(err)
	}
	cur, err := client.LoadCurrent(f.stateDir)
	if err != nil && f.user == "" {
		printErr(stderr, "qpc account forget", err)
		return exitFailure
	}
	if f.user != "" && f.user != cur.User {
		printErr(stderr, "qpc account forget", fmt.Errorf("%s is not the current account of this machine", f.user))
		return exitFailure
	}
	if err := session.ForgetLocal(f.sessionConfig(), cur); err != nil {
		printErr(stderr, "qpc account forget", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "this machine no longer keeps %s\n", termtext.Safe(cur.Address()))
	return exitOK
}

// sessionAccount is the REPL's /password on the account's Session.
type sessionAccount struct{ s *session.Session }

// ChangePassword checks the new password as register does and changes it.
func (a sessionAccount) ChangePassword(ctx context.Context, oldPassword, newPassword []byte) error {
	if err := checkNewPassword(newPassword, a.s.Current().User); err != nil {
		return err
	}
	return a.s.ChangePasswordOn(ctx, oldPassword, newPassword)
}
