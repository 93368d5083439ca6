//go:build !router

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/files"
	"github.com/quicprochat/qpc/client/session"
	progressbar "github.com/quicprochat/qpc/cmd/qpc/internal/progress"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/protocol"
)

// This file is qpc send --file and qpc recv --save-dir (issue 28,
// docs/files.md): a file is uploaded to the sender's home node and its
// reference travels as a file line (chat.FileText) the way a text does.

// fileStateDir is where the resume state of uploads lives, beside the
// account's state.
func fileStateDir(stateDir string) string { return filepath.Join(stateDir, "files") }

// uploadFile uploads path to the account's home node, resuming an
// earlier attempt on the same file, with a progress bar on stderr, and
// returns the file line to send.
func uploadFile(ctx context.Context, c *client.Client, home, stateDir, path string, stderr io.Writer) (string, files.Reference, error) {
	bar := progressbar.New(stderr, "qpc send: uploading "+termtext.Safe(filepath.Base(path)), true)
	ref, err := files.Upload(ctx, c, home, path, files.Options{
		StateDir: fileStateDir(stateDir),
		Progress: func(p files.Progress) { bar.Update(p.Done, p.Total, p.Rate, p.ETA) },
	})
	bar.Done()
	if err != nil {
		return "", ref, err
	}
	text, err := chat.FileText(ref)
	return text, ref, err
}

// fileSaver saves the files qpc recv receives, when --save-dir is given.
type fileSaver struct {
	ctx    context.Context
	c      func() *client.Client
	dir    string
	stdout io.Writer
	stderr io.Writer
	// eng, when the command opened the chat engine, records where each
	// file went, for the REPL's history.
	eng func() *chat.Engine
}

// save downloads ref into the save directory under a sanitised name that
// does not exist yet and says where; it returns that name even when the
// download failed, so that a pending download resumes into it. An
// interrupted download resumes the next time: its message is not
// acknowledged until save returns, and the name it was going to is still
// free (only its part file exists).
func (fs *fileSaver) save(ref files.Reference) (string, error) {
	if err := os.MkdirAll(fs.dir, 0o700); err != nil {
		return "", err
	}
	dest, err := files.SavePath(fs.dir, ref.Name)
	if err != nil {
		return "", err
	}
	if abs, err := filepath.Abs(dest); err == nil {
		dest = abs
	}
	return dest, fs.download(ref, dest)
}

// download fetches ref into dest with a progress bar.
func (fs *fileSaver) download(ref files.Reference, dest string) error {
	bar := progressbar.New(fs.stderr, "qpc recv: downloading "+termtext.Safe(filepath.Base(dest)), true)
	err := files.Download(fs.ctx, fs.c(), ref, dest, files.Options{
		Progress: func(p files.Progress) { bar.Update(p.Done, p.Total, p.Rate, p.ETA) },
	})
	bar.Done()
	return err
}

// waitsForRoute reports whether a download failed only because the
// file's home node cannot be reached now (no route, its node down, a
// call that timed out) or has not got the whole upload yet: a later
// attempt may succeed, so the download is kept pending.
func waitsForRoute(err error) bool {
	return errors.Is(err, protocol.ErrUnknownDomain) || errors.Is(err, protocol.ErrPeerUnreachable) ||
		errors.Is(err, files.ErrChunkTimeout) || errors.Is(err, files.ErrIncomplete) ||
		errors.Is(err, client.ErrOffline)
}

// keepPending records a download that waits for a route; false when it
// could not be kept (no chat database open, or the record is full).
func (fs *fileSaver) keepPending(id chatdb.MsgID, dest string, ref files.Reference) bool {
	eng := fs.engine()
	if eng == nil || dest == "" {
		return false
	}
	if err := eng.AddPendingFile(chat.PendingFile{ID: id, Dest: dest, Ref: ref}); err != nil {
		fmt.Fprintf(fs.stderr, "qpc recv: %s cannot wait for a retry: %s\n", termtext.Safe(filepath.Base(dest)), sayError(err))
		return false
	}
	return true
}

func (fs *fileSaver) engine() *chat.Engine {
	if fs.eng == nil {
		return nil
	}
	return fs.eng()
}

// retryPending tries again every download that waits for its sender's
// node: saved ones and expired ones leave the record, the others stay
// and are named. It returns how many still wait.
func (fs *fileSaver) retryPending(eng *chat.Engine, asJSON bool) int {
	ps, err := eng.PendingFiles()
	if err != nil {
		fmt.Fprintf(fs.stderr, "qpc recv: the downloads waiting for their sender's node cannot be read: %s\n", sayError(err))
		return 0
	}
	waiting := 0
	for _, p := range ps {
		name := termtext.Safe(filepath.Base(p.Dest))
		if !p.Ref.Expires.IsZero() && time.Now().After(p.Ref.Expires) {
			fmt.Fprintf(fs.stderr, "qpc recv: %s expired on %s before its node could be reached; it is dropped\n", name, termtext.Safe(p.Ref.Home))
			os.Remove(p.Dest + files.PartSuffix)
			os.Remove(p.Dest + files.PartSuffix + ".state")
			fs.dropPending(eng, p.ID)
			continue
		}
		err := fs.download(p.Ref, p.Dest)
		if errors.Is(err, os.ErrExist) {
			if _, perr := os.Lstat(p.Dest + files.PartSuffix); errors.Is(perr, os.ErrNotExist) {
				// An earlier run finished the file and stopped before
				// it could forget the pending entry.
				err = nil
			}
		}
		switch {
		case err == nil:
			if serr := eng.SetFileSaved(p.ID, p.Dest); serr != nil {
				fmt.Fprintf(fs.stderr, "qpc recv: where %s went is not kept in the chat history: %s\n", name, sayError(serr))
			}
			fs.dropPending(eng, p.ID)
			if asJSON {
				json.NewEncoder(fs.stdout).Encode(savedJSON{Saved: p.Dest, Name: p.Ref.Name, Size: p.Ref.Size})
				continue
			}
			fmt.Fprintf(fs.stdout, "%s from %s, which waited for its node:\n", name, termtext.Safe(p.Ref.Home))
			fmt.Fprintf(fs.stdout, "  saved to %s\n", termtext.Safe(p.Dest))
		case waitsForRoute(err):
			waiting++
			fmt.Fprintf(fs.stderr, "qpc recv: %s still waits for %s: %s\n", name, termtext.Safe(p.Ref.Home), sayError(err))
		default:
			fs.dropPending(eng, p.ID)
			fmt.Fprintf(fs.stderr, "qpc recv: %s not saved: %s\n", name, sayError(err))
			fmt.Fprintf(fs.stderr, "qpc recv: it stays in the conversation; fetch it later with /download in qpc repl\n")
		}
	}
	return waiting
}

func (fs *fileSaver) dropPending(eng *chat.Engine, id chatdb.MsgID) {
	if err := eng.DropPendingFile(id); err != nil {
		fmt.Fprintf(fs.stderr, "qpc recv: %s\n", sayError(err))
	}
}

// fileOf returns the file reference a received message carries, if it
// is a file line: an incoming one (not a copy of one's own) that is
// verified.
func fileOf(in session.Incoming) (files.Reference, bool, error) {
	r := in.Received
	if in.SentCopy != nil || !r.Verified || r.From == "" || in.System != "" || in.Synced != nil {
		return files.Reference{}, false, nil
	}
	return chat.ParseFileText(string(r.Body))
}

// lineText is how a line's text reads: a file line as its summary.
func lineText(text string) string {
	ref, ok, err := chat.ParseFileText(text)
	switch {
	case !ok:
		return text
	case err != nil:
		return "[file] (unreadable reference: " + err.Error() + ")"
	}
	return chat.FileSummary(ref)
}

// receiveFile is what qpc recv does with a file line beyond printing it:
// saves it with --save-dir, else says how to.
func receiveFile(in session.Incoming, saver *fileSaver, asJSON bool, stdout, stderr io.Writer) {
	ref, ok, err := fileOf(in)
	if !ok {
		return
	}
	if err != nil {
		fmt.Fprintf(stderr, "qpc recv: a file from %s cannot be fetched: %s\n", termtext.Safe(in.From), sayError(err))
		return
	}
	if saver == nil {
		if !asJSON {
			fmt.Fprintf(stdout, "  save it: qpc recv --save-dir DIR next time, or /download in qpc repl (conversation @%s)\n", termtext.Safe(in.From))
		}
		return
	}
	dest, err := saver.save(ref)
	if err == nil {
		saver.record(chatdb.MsgID(in.ID), dest)
	}
	if err != nil && waitsForRoute(err) && saver.keepPending(chatdb.MsgID(in.ID), dest, ref) {
		fmt.Fprintf(stderr, "qpc recv: %s from %s waits for its sender's node %s (%s); it is saved once a route appears: by the next qpc recv --save-dir, or by --follow within %s\n",
			termtext.Safe(files.SafeName(ref.Name)), termtext.Safe(in.From), termtext.Safe(ref.Home), sayError(err), pendingRetry)
		return
	}
	if err != nil {
		fmt.Fprintf(stderr, "qpc recv: %s from %s not saved: %s\n", termtext.Safe(files.SafeName(ref.Name)), termtext.Safe(in.From), sayError(err))
		if errors.Is(err, os.ErrExist) {
			return
		}
		fmt.Fprintf(stderr, "qpc recv: it stays in the conversation; fetch it later with /download in qpc repl\n")
		return
	}
	if asJSON {
		json.NewEncoder(stdout).Encode(savedJSON{Saved: dest, From: in.From, Name: ref.Name, Size: ref.Size})
		return
	}
	fmt.Fprintf(stdout, "  saved to %s\n", termtext.Safe(dest))
}

// record notes in the chat database where the file of line id went, so
// that the REPL shows it; failing only loses that note.
func (fs *fileSaver) record(id chatdb.MsgID, dest string) {
	eng := fs.engine()
	if eng == nil {
		return
	}
	if abs, err := filepath.Abs(dest); err == nil {
		if err := eng.SetFileSaved(id, abs); err != nil {
			fmt.Fprintf(fs.stderr, "qpc recv: where %s went is not kept in the chat history: %s\n", termtext.Safe(filepath.Base(dest)), sayError(err))
		}
	}
}

// savedJSON is the line qpc recv --json --save-dir prints after a file
// is saved.
type savedJSON struct {
	Saved string `json:"saved"`
	From  string `json:"from"`
	Name  string `json:"name"`
	Size  uint64 `json:"size"`
}

// fileJSON is a file line in qpc recv --json.
type fileJSON struct {
	Name string `json:"name"`
	Size uint64 `json:"size"`
	MIME string `json:"mime,omitempty"`
}

// sessionFiles is repl.Files over the account's connection (the one the
// REPL's follower keeps open, reconnected as it goes).
type sessionFiles struct {
	s        *session.Session
	stateDir string
}

// conn is the account's connection now; a REPL that started offline has
// none until its follower connects.
func (sf sessionFiles) conn() (*client.Client, error) {
	c := sf.s.Account().Client
	if c == nil || c.IsOffline() {
		return nil, client.ErrOffline
	}
	return c, nil
}

func (sf sessionFiles) Upload(ctx context.Context, path string, progress func(files.Progress)) (files.Reference, error) {
	c, err := sf.conn()
	if err != nil {
		return files.Reference{}, err
	}
	return files.Upload(ctx, c, sf.s.Current().Domain, path, files.Options{StateDir: fileStateDir(sf.stateDir), Progress: progress})
}

func (sf sessionFiles) Download(ctx context.Context, ref files.Reference, dest string, progress func(files.Progress)) error {
	c, err := sf.conn()
	if err != nil {
		return err
	}
	return files.Download(ctx, c, ref, dest, files.Options{Progress: progress})
}
