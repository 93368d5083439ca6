//go:build !router

package main

import (
	"fmt"
	"os"

	"golang.org/x/term"
)

// newAccountPassword returns the password of the account user (address
// addr) that qpc repl offers to register: the one given to log in, when it
// is strong enough for a new account and, typed, typed again the same.
// A typed one that is too weak, or whose repetition differs, asks for a
// new password as qpc register does (again and again, a few times),
// instead of ending the REPL (issue 24); one from --password-file or
// $QPC_PASSWORD that is too weak is refused with the reason.
func (f *clientFlags) newAccountPassword(in *os.File, user, addr string) ([]byte, error) {
	f.checkNew = func(pw []byte) error { return checkNewPassword(pw, user) }
	pw := f.fixedPassword
	if !f.typedPassword {
		return f.checkNewIf(true, pw)
	}
	if err := f.checkNew(pw); err != nil {
		fmt.Fprintf(f.stderr, "%s; choose another\n", sayError(err))
	} else {
		fmt.Fprint(f.stderr, "Repeat the password for the new account: ")
		again, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(f.stderr)
		if err != nil {
			return nil, err
		}
		if string(again) == string(pw) {
			return pw, nil
		}
		fmt.Fprintln(f.stderr, "the passwords differ; type a new password")
	}
	f.fixedPassword = nil // so that password asks
	pw, err := f.password(fmt.Sprintf("New password for %s: ", addr), true)
	if err != nil {
		return nil, err
	}
	f.fixedPassword = pw
	return pw, nil
}
