//go:build !router

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/archive"
	"github.com/quicprochat/qpc/client/backup"
	"github.com/quicprochat/qpc/client/session"
	progressbar "github.com/quicprochat/qpc/cmd/qpc/internal/progress"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/crypto/sealedfile"
	"github.com/quicprochat/qpc/protocol"
)

// This file is qpc backup create and restore (issue 30, docs/backup.md),
// and the passphrases and output files they share with qpc export.

func init() {
	wordedErrors = append(wordedErrors, wordedChunk, wordedRecord, wordedAs[*restoreRevokedError], wordedAs[*notThisAccountsCodeError])
	userErrors = append(userErrors,
		userError{cause: sealedfile.ErrWrongSecret, say: "wrong passphrase or recovery code: the file does not open with it"},
		userError{cause: sealedfile.ErrNotSealedFile, say: "not a qpc backup or archive file"},
		userError{cause: sealedfile.ErrWrongPurpose, say: "this file is not of that kind (a transcript archive is read with qpc export verify, a backup with qpc backup restore)"},
		userError{cause: sealedfile.ErrVersionUnknown, say: "the file was written by a newer qpc; update qpc to read it"},
		userError{cause: sealedfile.ErrVersionTooOld, say: "the file was written by an old qpc whose format this one no longer reads"},
		userError{cause: sealedfile.ErrBadHeader, say: "the file's header is damaged or asks for more memory than a backup may take; nothing was read"},
		userError{cause: backup.ErrNotBackup, say: "the file does not hold a qpc backup"},
		userError{cause: backup.ErrVersionUnknown, say: "the backup was written by a newer qpc; update qpc to restore it"},
		userError{cause: backup.ErrVersionTooOld, say: "the backup was written by an old qpc whose format this one no longer reads"},
		userError{cause: backup.ErrCorrupt, say: "the backup is malformed (it decrypted, but breaks the format); nothing was restored"},
		userError{cause: backup.ErrStateExists, say: "this machine already holds state of the account; nothing was restored. Give --force to replace it (the state there now is lost), or use another --state-dir"},
		userError{cause: backup.ErrInUse, say: "the account's chat database is open in another qpc (qpc repl?); close it and run the backup again"},
		userError{cause: backup.ErrNoState, say: "this machine holds no state of the account to back up (qpc register, device link or account recover first)"},
		userError{cause: backup.ErrPasswordChanged, say: "the backup's state does not open with this login: the account's password was changed after the backup was made " +
			"(or --server names another node, whose account of that name is another one). Nothing was restored; link this machine (qpc device link) " +
			"or recover (qpc account recover) instead, and make a new backup"},
		userError{cause: archive.ErrBadSignature, say: "NOT VALID: the archive's signature does not verify: its header or end was altered, or its records were rewritten by someone without the account's key"},
		userError{cause: archive.ErrBadDeviceCert, say: "NOT VALID: the archive's device certificate is not signed by the account key it names"},
		userError{cause: archive.ErrNotArchive, say: "the file does not hold a qpc transcript archive"},
		userError{cause: archive.ErrVersionUnknown, say: "the archive was written by a newer qpc; update qpc to verify it"},
		userError{cause: archive.ErrMalformed, say: "NOT VALID: the archive is malformed (it decrypted, but breaks the format)"},
		userError{cause: errOtherAccountKey, say: "NOT the expected account: the archive verifies, but under another account key than --account-key gives"},
		userError{cause: errFileExists, say: "the output file exists; give --force to replace it, or another name"},
		userError{cause: errNoPassphrase, say: "no passphrase: give --passphrase-file or set QPC_PASSPHRASE (stdin is not a terminal)"},
		userError{cause: errPassphraseMismatch, say: "the two passphrases differ; nothing was written"},
	)
}

var (
	errFileExists         = errors.New("output file exists")
	errNoPassphrase       = errors.New("no passphrase")
	errPassphraseMismatch = errors.New("passphrases differ")
)

// wordedChunk says which chunk of a sealed file failed and how.
func wordedChunk(err error) (string, bool) {
	var ce *sealedfile.ChunkError
	if !errors.As(err, &ce) {
		return "", false
	}
	what := "is altered (it does not authenticate under the file's key)"
	switch {
	case errors.Is(ce.Err, sealedfile.ErrTruncated):
		what = "is missing: the file was cut short"
	case errors.Is(ce.Err, sealedfile.ErrTrailingData):
		what = "is the last, and more was added after it"
	case !errors.Is(ce.Err, sealedfile.ErrTampered):
		return fmt.Sprintf("reading chunk %d of the file: %v", ce.Index, ce.Err), true
	}
	return fmt.Sprintf("the file is damaged: its chunk %d %s; nothing was taken from it", ce.Index, what), true
}

// wordedRecord says which record of an archive failed.
func wordedRecord(err error) (string, bool) {
	var re *archive.RecordError
	if !errors.As(err, &re) {
		return "", false
	}
	return fmt.Sprintf("NOT VALID: record %d is %v", re.Number, re.Err), true
}

// restoreRevokedError is a restore refused because the backup's device
// was removed from the account since.
type restoreRevokedError struct {
	m backup.Manifest
}

func (e *restoreRevokedError) Error() string {
	return fmt.Sprintf("the device in this backup (%q, %s) was removed from %s since: restored, it would read and send nothing. "+
		"Nothing was restored; make this machine a device with qpc device link, or qpc account recover", e.m.DeviceName, e.m.Device, e.m.Address)
}

// Unwrap makes it protocol.ErrDeviceRevoked, as session.RevokedError is.
func (e *restoreRevokedError) Unwrap() error { return protocol.ErrDeviceRevoked }

// notThisAccountsCodeError is a recovery code of another account.
type notThisAccountsCodeError struct{ address string }

func (e *notThisAccountsCodeError) Error() string {
	return fmt.Sprintf("that recovery code is not %s's: it spells another account key", e.address)
}

func runBackup(args []string, stdout, stderr io.Writer) int {
	return runSubcommands("backup", "usage: qpc backup create FILE [--recovery-code] [--passphrase-file F] [--force] [--json]\n"+
		"       qpc backup restore FILE [--force] [--json]   (on the new machine; asks for the passphrase or recovery code, then the password)\n\n", []subcommand{
		{"create", "put this device's whole client state (keys, contacts, groups, history) into one encrypted file", runBackupCreate},
		{"restore", "make this machine the device of a backup again: restore, then log in", runBackupRestore},
	}, args, stdout, stderr)
}

// secretFlags say where the secret of a backup or archive comes from.
type secretFlags struct {
	passphraseFile, codeFile string
	stderr                   io.Writer
}

func (s *secretFlags) bind(fs *flag.FlagSet, stderr io.Writer, code bool) {
	s.stderr = stderr
	fs.StringVar(&s.passphraseFile, "passphrase-file", "", "read the passphrase from this file's first line (default: $QPC_PASSPHRASE, else a prompt)")
	if code {
		fs.StringVar(&s.codeFile, "code-file", "", "read the recovery code from this file (default: $QPC_RECOVERY_CODE, else a prompt)")
	}
}

// passphrase reads the passphrase; confirm asks twice at a terminal and
// judges a new one with check (nil: any).
func (s *secretFlags) passphrase(prompt string, confirm bool, check func([]byte) error) ([]byte, error) {
	var pw []byte
	switch env, ok := os.LookupEnv("QPC_PASSPHRASE"); {
	case s.passphraseFile != "":
		f, err := os.Open(s.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("--passphrase-file: %w", err)
		}
		line, err := bufio.NewReader(f).ReadString('\n')
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("--passphrase-file: %w", err)
		}
		pw = []byte(strings.TrimRight(line, "\r\n"))
	case ok:
		pw = []byte(env)
	default:
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return nil, errNoPassphrase
		}
		read := func(prompt string) ([]byte, error) {
			fmt.Fprint(s.stderr, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(s.stderr)
			return b, err
		}
		var err error
		if pw, err = read(prompt); err != nil {
			return nil, err
		}
		if confirm {
			again, err := read("Again: ")
			if err != nil {
				return nil, err
			}
			if string(again) != string(pw) {
				return nil, errPassphraseMismatch
			}
		}
	}
	if check != nil {
		if err := check(pw); err != nil {
			return nil, err
		}
	}
	return pw, nil
}

// secret returns the key of a file that wants kind: the passphrase, or
// the account key seed of the recovery code.
func (s *secretFlags) secret(kind sealedfile.SecretKind) ([]byte, error) {
	if kind == sealedfile.RecoveryCode {
		code, err := recoveryCode(s.codeFile, &clientFlags{stderr: s.stderr})
		if err != nil {
			return nil, err
		}
		k, err := identity.ParseRecoveryCode(code)
		if err != nil {
			return nil, err
		}
		return k.Seed(), nil
	}
	return s.passphrase("Passphrase: ", false, nil)
}

// writeOutput writes path through a temporary file beside it, mode 0600,
// renamed into place once whole: an existing file is replaced only with
// force, and never left half written.
func writeOutput(path string, force bool, write func(io.Writer) error) (int64, error) {
	if _, err := os.Stat(path); err == nil && !force {
		return 0, fmt.Errorf("%s: %w", path, errFileExists)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err := write(bw); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	st, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	ok = true
	return st.Size(), nil
}

// progressOf reports on bar with the rate and time left so far.
func progressOf(bar *progressbar.Bar) func(done, total int64) {
	start := time.Now()
	return func(done, total int64) {
		var rate float64
		var eta time.Duration
		if el := time.Since(start).Seconds(); el > 0 && done > 0 {
			rate = float64(done) / el
			eta = time.Duration(float64(total-done) / rate * float64(time.Second))
		}
		bar.Update(done, total, rate, eta)
	}
}

// backupCreateJSON is qpc backup create --json.
type backupCreateJSON struct {
	File     string `json:"file"`
	Address  string `json:"address"`
	Device   string `json:"device"`
	DeviceID string `json:"device_id"`
	Secret   string `json:"secret"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	Size     int64  `json:"size"`
	Created  int64  `json:"created"`
}

func runBackupCreate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backup create", "FILE [--recovery-code] [--passphrase-file F] [--force] [--json] [flags]\n\n"+
		"Logs in and writes this device's whole client state (its keys and the account key where it holds it, contacts,\n"+
		"groups, history) into FILE, encrypted under a passphrase, or under the account's recovery code (--recovery-code).\n"+
		"qpc backup restore FILE makes a new machine this device again, with the account's password as it is now.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	var sec secretFlags
	sec.bind(fs, stderr, true)
	useCode := fs.Bool("recovery-code", false, "encrypt under the account's recovery code instead of a passphrase "+
		"(this device's, if it holds the account key; else asked for)")
	force := fs.Bool("force", false, "replace FILE if it exists")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	words, err := parseWithArgs(fs, args)
	if err != nil {
		return parseError(err)
	}
	if len(words) != 1 {
		fmt.Fprintln(stderr, "qpc backup create: give one FILE to write (see --help)")
		return exitUsage
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc backup create", err)
		return exitUsage
	}
	file := words[0]
	if _, err := os.Stat(file); err == nil && !*force {
		printErr(stderr, "qpc backup create", fmt.Errorf("%s: %w", file, errFileExists))
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc backup create", err)
		return exitFailure
	}
	m, key, kind, err := backupManifest(s, &sec, *useCode)
	s.Close()
	if err != nil {
		printErr(stderr, "qpc backup create", err)
		return exitFailure
	}
	snap, err := backup.Snap(f.stateDir, m)
	if err != nil {
		printErr(stderr, "qpc backup create", err)
		return exitFailure
	}
	defer snap.Close()
	m = snap.Manifest()
	bar := progressbar.New(stderr, "qpc backup: "+filepath.Base(file), true)
	size, err := writeOutput(file, *force, func(w io.Writer) error {
		return snap.Write(w, sealedfile.Options{Secret: kind, Key: key}, progressOf(bar))
	})
	bar.Done()
	if err != nil {
		printErr(stderr, "qpc backup create", err)
		return exitFailure
	}
	out := backupCreateJSON{File: file, Address: m.Address, Device: m.DeviceName, DeviceID: m.Device.String(), Secret: kind.String(),
		Files: len(m.Files), Bytes: m.Size(), Size: size, Created: m.Created.Unix()}
	if *asJSON {
		json.NewEncoder(stdout).Encode(out)
		return exitOK
	}
	fmt.Fprintf(stdout, "backed up %s, device %q (%s): %d files, %s, into %s (%s), encrypted under the %s\n",
		m.Address, termtext.Safe(m.DeviceName), m.Device, len(m.Files), progressbar.Size(m.Size()), file, progressbar.Size(size), kind)
	fmt.Fprintln(stdout, "Restore it with qpc backup restore on a new machine, with the account's password as it is then: "+
		"a password change makes this backup useless, so make a new one after it.")
	return exitOK
}

// deviceManifest describes the session's device for its backup.
func deviceManifest(s *session.Session) (backup.Manifest, error) {
	st, cur := s.State(), s.Current()
	m := backup.Manifest{Address: strings.ToLower(cur.Address()), Server: cur.Server, Fingerprint: cur.Fingerprint,
		DeviceName: st.DeviceName, Created: time.Now(), HoldsAccountKey: len(st.AccountKeySeed) > 0}
	if st.Migrated() {
		id, err := st.Device()
		if err != nil {
			return m, err
		}
		m.Device = id
	}
	return m, nil
}

// backupManifest describes the logged-in device for its backup and gets
// the secret to seal it under: a new passphrase, or the recovery code.
func backupManifest(s *session.Session, sec *secretFlags, useCode bool) (backup.Manifest, []byte, sealedfile.SecretKind, error) {
	cur := s.Current()
	m, err := deviceManifest(s)
	if err != nil {
		return m, nil, 0, err
	}
	if !useCode {
		pw, err := sec.passphrase("Backup passphrase: ", true, func(pw []byte) error { return checkNewPassword(pw, cur.User) })
		return m, pw, sealedfile.Passphrase, err
	}
	if m.HoldsAccountKey {
		return m, s.State().AccountKeySeed, sealedfile.RecoveryCode, nil
	}
	list := s.Account().List
	if list == nil {
		return m, nil, 0, errors.New("this account has no recovery code (its state is from before devices); use a passphrase")
	}
	seed, err := sec.secret(sealedfile.RecoveryCode)
	if err != nil {
		return m, nil, 0, err
	}
	k, err := identity.AccountKeyFromSeed(seed)
	if err != nil {
		return m, nil, 0, err
	}
	if !k.Public().Equal(list.AccountKey) {
		return m, nil, 0, &notThisAccountsCodeError{address: m.Address}
	}
	return m, seed, sealedfile.RecoveryCode, nil
}

// backupRestoreJSON is qpc backup restore --json.
type backupRestoreJSON struct {
	Restored        string `json:"restored"`
	Device          string `json:"device"`
	DeviceID        string `json:"device_id"`
	HoldsAccountKey bool   `json:"holds_account_key"`
	Files           int    `json:"files"`
	Bytes           int64  `json:"bytes"`
	Created         int64  `json:"created"`
	Server          string `json:"server"`
}

func runBackupRestore(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backup restore", "FILE [--force] [--json] [flags]\n\n"+
		"Restores the client state in FILE (made by qpc backup create) into the state directory, then logs in with the\n"+
		"account's password to check that it is a working device: a device removed from the account since, or a state\n"+
		"the password no longer opens, is refused and nothing stays restored. The node is the one in the backup\n"+
		"unless --server says otherwise.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	var sec secretFlags
	sec.bind(fs, stderr, true)
	force := fs.Bool("force", false, "replace the account's state on this machine (it is lost)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	words, err := parseWithArgs(fs, args)
	if err != nil {
		return parseError(err)
	}
	if len(words) != 1 {
		fmt.Fprintln(stderr, "qpc backup restore: give the backup FILE (see --help)")
		return exitUsage
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc backup restore", err)
		return exitUsage
	}
	in, err := os.Open(words[0])
	if err != nil {
		printErr(stderr, "qpc backup restore", err)
		return exitFailure
	}
	defer in.Close()
	r, err := backup.Open(bufio.NewReaderSize(in, 256<<10), sec.secret)
	if err != nil {
		printErr(stderr, "qpc backup restore", err)
		return exitFailure
	}
	m := r.Manifest()
	bar := progressbar.New(stderr, "qpc backup restore: "+filepath.Base(words[0]), true)
	res, err := r.Restore(f.stateDir, *force, progressOf(bar))
	bar.Done()
	if err != nil {
		printErr(stderr, "qpc backup restore", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := loginRestored(ctx, &f, m)
	if err != nil {
		if uerr := res.Undo(); uerr != nil {
			printErr(stderr, "qpc backup restore: putting back the state of before", uerr)
		}
		printErr(stderr, "qpc backup restore", err)
		return exitFailure
	}
	s.Close()
	if err := res.Commit(); err != nil {
		printErr(stderr, "qpc backup restore: removing the replaced state", err)
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(backupRestoreJSON{Restored: m.Address, Device: m.DeviceName, DeviceID: m.Device.String(),
			HoldsAccountKey: m.HoldsAccountKey, Files: len(m.Files), Bytes: m.Size(), Created: m.Created.Unix(), Server: s.Current().Server})
		return exitOK
	}
	fmt.Fprintf(stdout, "restored %s: this machine is its device %q (%s) again, as backed up on %s; logged in at %s\n",
		termtext.Safe(m.Address), termtext.Safe(m.DeviceName), m.Device, m.Created.Local().Format(time.DateTime), s.Current().Server)
	fmt.Fprintln(stdout, "If the machine the backup came from still runs this device, both read one queue: retire one of them.")
	return exitOK
}

// loginRestored logs the restored account in at the backup's node (or
// --server), which checks that its state opens and its device is current.
func loginRestored(ctx context.Context, f *clientFlags, m backup.Manifest) (*session.Session, error) {
	user, _, _ := strings.Cut(m.Address, "@")
	cur := client.Current{User: user, Server: m.Server, Fingerprint: m.Fingerprint}
	if f.server != "" && f.server != m.Server {
		cur.Server, cur.Fingerprint = f.server, ""
	}
	if f.pin == "" && f.caCert == "" {
		f.pin = cur.Fingerprint // the node the backup's device was logged in on
	}
	s, err := session.Login(ctx, f.sessionConfig(), cur)
	switch {
	case err == nil:
		return s, nil
	case errors.Is(err, keystore.ErrWrongKey):
		return nil, fmt.Errorf("%w: %w", backup.ErrPasswordChanged, err)
	case errors.As(err, new(*session.RevokedError)):
		return nil, &restoreRevokedError{m: m}
	}
	return nil, err
}
