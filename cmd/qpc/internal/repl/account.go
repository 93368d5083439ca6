package repl

import (
	"context"
	"errors"
)

// Account changes the account's password for /password, as qpc account
// password does (client/session: Session.ChangePasswordOn), with the same
// strength check of the new password.
type Account interface {
	// ChangePassword logs in with oldPassword on a connection of its own
	// and gives the account newPassword; the REPL's own connection then
	// ends with the account's other sessions and logs in again with the
	// new password.
	ChangePassword(ctx context.Context, oldPassword, newPassword []byte) error
}

// errNoAccount is what /password says in a REPL without an Account.
var errNoAccount = errors.New("/password is not available here: use qpc account password in a shell")

// errNoSecretInput is what /password says without a terminal, which it
// needs to read passwords without showing them.
var errNoSecretInput = errors.New("/password needs a terminal, to read passwords without showing them: use qpc account password")

// errPasswordsDiffer means the repetition of the new password was not the
// same.
var errPasswordsDiffer = errors.New("the passwords differ; nothing changed")

// secretReader is a LineIO that reads a line without echoing it: the
// terminal's.
type secretReader interface {
	ReadPassword(prompt string) (string, error)
}

// ReadPassword reads a line without showing it.
func (t *termIO) ReadPassword(prompt string) (string, error) { return t.t.ReadPassword(prompt) }

func (r *REPL) cmdPassword(ctx context.Context, _ []string) error {
	if r.account == nil {
		return errNoAccount
	}
	in, ok := r.io.(secretReader)
	if !ok {
		return errNoSecretInput
	}
	old, err := in.ReadPassword("Current password: ")
	if err != nil {
		return err
	}
	pw, err := in.ReadPassword("New password: ")
	if err != nil {
		return err
	}
	again, err := in.ReadPassword("Repeat it: ")
	if err != nil {
		return err
	}
	if again != pw {
		return errPasswordsDiffer
	}
	if err := r.account.ChangePassword(ctx, []byte(old), []byte(pw)); err != nil {
		return err
	}
	r.Printf("password changed; your other sessions ended: your other devices log in again with the new password")
	return nil
}
