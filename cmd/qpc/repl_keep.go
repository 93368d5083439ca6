//go:build !router

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/quicprochat/qpc/client/archive"
	"github.com/quicprochat/qpc/client/backup"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/session"
	progressbar "github.com/quicprochat/qpc/cmd/qpc/internal/progress"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealedfile"
)

// sessionKeeper is the REPL's /backup and /export (repl.Keeper): what
// qpc backup create and qpc export do, over the chat engine the REPL
// holds open, which the one-shot commands cannot open meanwhile.
type sessionKeeper struct {
	s        *session.Session
	eng      *chat.Engine
	stateDir string
}

// saidError is an error as qpc words it for a person (sayError), for the
// REPL, which prints errors as they are.
type saidError struct{ err error }

func (e saidError) Error() string { return sayError(e.err) }
func (e saidError) Unwrap() error { return e.err }

// said words err for the REPL; nil stays nil.
func said(s string, err error) (string, error) {
	if err != nil {
		return "", saidError{err}
	}
	return s, nil
}

// Backup is qpc backup create FILE under a passphrase, the chat database
// read through the engine's own snapshot of it (backup.SnapOpen).
func (k sessionKeeper) Backup(_ context.Context, file string, pw []byte, progress func(done, total int64)) (string, error) {
	return said(k.backup(file, pw, progress))
}

func (k sessionKeeper) backup(file string, pw []byte, progress func(done, total int64)) (string, error) {
	if err := checkNewPassword(pw, k.s.Current().User); err != nil {
		return "", err
	}
	m, err := deviceManifest(k.s)
	if err != nil {
		return "", err
	}
	cp, err := k.eng.SnapshotDB()
	if err != nil {
		return "", err
	}
	snap, err := backup.SnapOpen(k.stateDir, m, cp)
	if err != nil {
		return "", err
	}
	// Closed as soon as it is written: incoming lines that grow the
	// database wait for it (chatdb.Snapshot).
	defer snap.Close()
	m = snap.Manifest()
	size, err := writeOutput(file, false, func(w io.Writer) error {
		return snap.Write(w, sealedfile.Options{Secret: sealedfile.Passphrase, Key: pw}, progress)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("backed up %s, device %q: %d files, %s, into %s (%s), encrypted under the passphrase. "+
		"qpc backup restore reads it, with the account's password as it is then.",
		m.Address, termtext.Safe(m.DeviceName), len(m.Files), progressbar.Size(m.Size()), termtext.Safe(file), progressbar.Size(size)), nil
}

// Export is qpc export --conversation name FILE.
func (k sessionKeeper) Export(_ context.Context, name, file string, pw []byte) (string, error) {
	return said(k.export(name, file, pw))
}

func (k sessionKeeper) export(name, file string, pw []byte) (string, error) {
	if err := checkNewPassword(pw, k.s.Current().User); err != nil {
		return "", err
	}
	content, conv, n, err := exportConversationIn(k.s, k.eng, name)
	if err != nil {
		return "", err
	}
	size, err := writeOutput(file, false, func(w io.Writer) error { return archive.Write(w, content, sealedOptions(pw)) })
	if err != nil {
		return "", err
	}
	v, err := archive.Verify(content)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("exported %d %s of %s into %s (%d bytes), signed by %s; Merkle root %x", n,
		termtext.Plural(n, "record"), termtext.Safe(conv.Name), termtext.Safe(filepath.Base(file)), size, signedBy(v), v.Root), nil
}

// VerifyArchive is qpc export verify FILE.
func (k sessionKeeper) VerifyArchive(file string, pw []byte) (string, error) {
	return said(k.verifyArchive(file, pw))
}

func (k sessionKeeper) verifyArchive(file string, pw []byte) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	content, err := archive.Read(bufio.NewReader(bytes.NewReader(data)), func(sealedfile.SecretKind) ([]byte, error) { return pw, nil })
	if err != nil {
		return "", err
	}
	v, err := archive.Verify(content)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("VALID: %d %s of the %s %s, exported by %s; signed by %s; account key fingerprint %s", len(v.Records),
		termtext.Plural(len(v.Records), "record"), v.Conversation.Kind, termtext.Safe(v.Conversation.Name), termtext.Safe(v.Address),
		signedBy(v), identity.Fingerprint(v.AccountKey)), nil
}
