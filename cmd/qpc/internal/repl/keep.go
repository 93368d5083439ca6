package repl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/quicprochat/qpc/cmd/qpc/internal/progress"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// /backup FILE, /export NAME FILE and /export verify FILE (issue 30,
// docs/backup.md): what qpc backup create, qpc export and qpc export
// verify do, done inside the REPL's process over the chat database it
// holds open, which the one-shot commands cannot open while the REPL runs
// (backup.ErrInUse). The passphrase is asked at the REPL's prompt, not
// echoed.

// Keeper writes the account's state and history into files. The REPL
// asks for the passphrase and gives it; the keeper judges a new one.
type Keeper interface {
	// Backup writes this device's whole client state into file, sealed
	// under passphrase, telling progress of the bytes; it returns what to
	// say of it.
	Backup(ctx context.Context, file string, passphrase []byte, progress func(done, total int64)) (string, error)
	// Export writes the transcript archive of the conversation name into
	// file, sealed under passphrase; it returns what to say of it.
	Export(ctx context.Context, name, file string, passphrase []byte) (string, error)
	// VerifyArchive checks the archive in file with its passphrase; it
	// returns what to say of it, or why it is not valid.
	VerifyArchive(file string, passphrase []byte) (string, error)
}

// errPassphrasesDiffer is two passphrases typed differently.
var errPassphrasesDiffer = errors.New("the two passphrases differ; nothing was written")

// readSecret asks for a secret; confirm asks for it twice.
func (r *REPL) readSecret(prompt string, confirm bool) ([]byte, error) {
	read := func(prompt string) (string, error) {
		// The terminal's reader without echo (secretReader, /password's);
		// lines from a pipe show nothing anyway.
		if sr, ok := r.io.(secretReader); ok {
			return sr.ReadPassword(prompt)
		}
		r.Printf("%s", prompt)
		return r.io.ReadLine()
	}
	pw, err := read(prompt)
	if err != nil {
		return nil, err
	}
	if confirm {
		again, err := read("Again: ")
		if err != nil {
			return nil, err
		}
		if again != pw {
			return nil, errPassphrasesDiffer
		}
	}
	return []byte(pw), nil
}

// newFile refuses a file that exists, before a passphrase is asked: the
// REPL replaces nothing (qpc backup create --force does).
func newFile(cmd, file string) error {
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("/%s: %s exists; give another name (nothing is replaced from the REPL)", cmd, termtext.Safe(file))
	}
	return nil
}

func (r *REPL) cmdBackup(ctx context.Context, args []string) error {
	if r.keeper == nil {
		return errors.New("/backup: not in this REPL; use qpc backup create")
	}
	file := strings.Join(args, " ")
	if err := newFile("backup", file); err != nil {
		return err
	}
	pw, err := r.readSecret("Backup passphrase: ", true)
	if err != nil {
		return err
	}
	said, err := r.keeper.Backup(ctx, file, pw, r.byteProgress("backup"))
	if err != nil {
		return err
	}
	r.Printf("%s", said)
	return nil
}

func (r *REPL) cmdExport(ctx context.Context, args []string) error {
	if r.keeper == nil {
		return errors.New("/export: not in this REPL; use qpc export")
	}
	if args[0] == "verify" {
		pw, err := r.readSecret("Archive passphrase: ", false)
		if err != nil {
			return err
		}
		said, err := r.keeper.VerifyArchive(args[1], pw)
		if err != nil {
			return err
		}
		r.Printf("%s", said)
		return nil
	}
	if err := newFile("export", args[1]); err != nil {
		return err
	}
	pw, err := r.readSecret("Archive passphrase: ", true)
	if err != nil {
		return err
	}
	said, err := r.keeper.Export(ctx, args[0], args[1], pw)
	if err != nil {
		return err
	}
	r.Printf("%s", said)
	return nil
}

// byteProgress prints a progress line of label at most every
// progressEvery, and the last, as transfers do.
func (r *REPL) byteProgress(label string) func(done, total int64) {
	var last time.Time
	start := time.Now()
	return func(done, total int64) {
		now := time.Now()
		if done < total && now.Sub(last) < progressEvery {
			return
		}
		last = now
		var rate float64
		var eta time.Duration
		if el := now.Sub(start).Seconds(); el > 0 && done > 0 {
			rate = float64(done) / el
			eta = time.Duration(float64(total-done) / rate * float64(time.Second))
		}
		r.Printf("%s", r.io.Dim(label+" "+progress.Line(done, total, rate, eta, true)))
	}
}
