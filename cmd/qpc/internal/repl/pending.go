package repl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/files"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/protocol"
)

// A /download whose file's home node is out of reach is kept pending in
// the chat database (chat.PendingFile, shared with qpc recv --save-dir)
// and tried again every PendingRetry and whenever the REPL comes online,
// until it is saved or its blob expires: the user need not type
// /download again once a route appears.

// PendingRetry is how often the REPL tries again the files that wait for
// their sender's node.
const PendingRetry = 30 * time.Second

// pendingFiles is the record of waiting downloads, which the chat engine
// (*chat.Engine) keeps; an engine without it (a test's) has none.
type pendingFiles interface {
	PendingFiles() ([]chat.PendingFile, error)
	AddPendingFile(p chat.PendingFile) error
	DropPendingFile(id chatdb.MsgID) error
}

var _ pendingFiles = (*chat.Engine)(nil)

// waitsForRoute reports whether a download failed only because the
// file's home node cannot be reached now, or does not hold the whole
// upload yet: a later attempt may succeed.
func waitsForRoute(err error) bool {
	return errors.Is(err, protocol.ErrUnknownDomain) || errors.Is(err, protocol.ErrPeerUnreachable) ||
		errors.Is(err, files.ErrChunkTimeout) || errors.Is(err, files.ErrIncomplete) ||
		errors.Is(err, client.ErrOffline)
}

// pendingDest is where the waiting download of line id goes, "" if none
// waits: a /download of it resumes there, so the file gets one name.
func (r *REPL) pendingDest(id chatdb.MsgID) string {
	pf, ok := r.eng.(pendingFiles)
	if !ok {
		return ""
	}
	ps, err := pf.PendingFiles()
	if err != nil {
		return ""
	}
	for _, p := range ps {
		if p.ID == id {
			return p.Dest
		}
	}
	return ""
}

// keepPending records a download that waits for a route; false when it
// cannot be kept.
func (r *REPL) keepPending(id chatdb.MsgID, dest string, ref files.Reference) bool {
	pf, ok := r.eng.(pendingFiles)
	if !ok {
		return false
	}
	if abs, err := filepath.Abs(dest); err == nil {
		dest = abs
	}
	return pf.AddPendingFile(chat.PendingFile{ID: id, Dest: dest, Ref: ref}) == nil
}

// kickPending asks the retry loop to try now (the REPL came online).
func (r *REPL) kickPending() {
	select {
	case r.pendingKick <- struct{}{}:
	default:
	}
}

// pendingLoop tries the waiting downloads again until ctx ends.
func (r *REPL) pendingLoop(ctx context.Context) {
	defer r.restoreOnPanic()
	pf, ok := r.eng.(pendingFiles)
	if !ok || r.files == nil {
		return
	}
	t := time.NewTicker(PendingRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.pendingKick:
		}
		r.retryPending(ctx, pf)
	}
}

// retryPending tries each waiting download once. One that still waits
// says nothing (it would every PendingRetry); saved, expired and failed
// ones leave the record and say so.
func (r *REPL) retryPending(ctx context.Context, pf pendingFiles) {
	ps, err := pf.PendingFiles()
	if err != nil {
		r.Printf("%s", r.io.Dim("-- the downloads waiting for their sender's node cannot be read: "+termtext.Safe(err.Error())+" --"))
		return
	}
	for _, p := range ps {
		if ctx.Err() != nil {
			return
		}
		name := termtext.Safe(filepath.Base(p.Dest))
		if !p.Ref.Expires.IsZero() && time.Now().After(p.Ref.Expires) {
			os.Remove(p.Dest + files.PartSuffix)
			os.Remove(p.Dest + files.PartSuffix + ".state")
			_ = pf.DropPendingFile(p.ID)
			r.Printf("%s expired on %s before its node could be reached; it is dropped", name, termtext.Safe(p.Ref.Home))
			continue
		}
		r.dlMu.Lock()
		err := r.files.Download(ctx, p.Ref, p.Dest, r.transferProgress("downloading "+name))
		r.dlMu.Unlock()
		if errors.Is(err, os.ErrExist) {
			if _, perr := os.Lstat(p.Dest + files.PartSuffix); errors.Is(perr, os.ErrNotExist) {
				err = nil // saved before; only the record was left
			}
		}
		switch {
		case err == nil:
			r.mu.Lock()
			r.saved[p.ID] = p.Dest
			r.mu.Unlock()
			if rec, ok := r.eng.(savedFiles); ok {
				_ = rec.SetFileSaved(p.ID, p.Dest)
			}
			_ = pf.DropPendingFile(p.ID)
			r.Printf("saved %s (it waited for its sender's node %s)", termtext.Safe(p.Dest), termtext.Safe(p.Ref.Home))
		case waitsForRoute(err) || ctx.Err() != nil:
		default:
			_ = pf.DropPendingFile(p.ID)
			r.Printf("%s", termtext.Safe(fmt.Sprintf("%s not saved: %v", filepath.Base(p.Dest), err)))
		}
	}
}
