package repl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/files"
	"github.com/quicprochat/qpc/cmd/qpc/internal/progress"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// Files moves files between this machine and the account's node for
// /send-file and /download (client/files over the account's connection).
type Files interface {
	// Upload encrypts and uploads the file at path (resuming an earlier
	// attempt) and returns its reference.
	Upload(ctx context.Context, path string, progress func(files.Progress)) (files.Reference, error)
	// Download fetches ref into dest, which must not exist (resuming an
	// earlier attempt).
	Download(ctx context.Context, ref files.Reference, dest string, progress func(files.Progress)) error
}

// progressEvery is how often a transfer's progress line is printed: the
// REPL prints lines above its prompt, so a bar redrawn ten times a second
// would scroll the conversation away.
const progressEvery = time.Second

// transferProgress returns a Progress func that prints a progress line
// (label, bar, rate, time left) at most every progressEvery, and the last.
func (r *REPL) transferProgress(label string) func(files.Progress) {
	var last time.Time
	return func(p files.Progress) {
		if now := time.Now(); p.Done < p.Total && now.Sub(last) < progressEvery {
			return
		} else {
			last = now
		}
		r.Printf("%s", r.io.Dim(label+" "+progress.Line(p.Done, p.Total, p.Rate, p.ETA, true)))
	}
}

// fileLineText is how a file line reads: "[file #N] name (size, type)",
// N the number /download takes; the saved path once saved here.
func (r *REPL) fileLineText(m chatdb.Message) (string, bool) {
	ref, ok, err := chat.ParseFileText(m.Text)
	if !ok {
		return "", false
	}
	if err != nil {
		return "[file] (cannot be fetched: " + termtext.Safe(err.Error()) + ")", true
	}
	s := fmt.Sprintf("[file #%d] %s", m.Seq, termtext.Safe(strings.TrimPrefix(chat.FileSummary(ref), "[file] ")))
	saved := r.savedPath(m.ID)
	if saved != "" {
		s += " " + r.io.Dim("saved "+termtext.Safe(saved))
	} else if !r.isSelf(m.From) {
		s += " " + r.io.Dim(fmt.Sprintf("/download %d", m.Seq))
	}
	return s, true
}

func (r *REPL) cmdSendFile(ctx context.Context, args []string) error {
	if r.files == nil {
		return errors.New("files need a connection to the node (qpc send --file)")
	}
	c, err := r.current()
	if err != nil {
		return err
	}
	if c.Invited {
		return fmt.Errorf("%s is an invitation: /join to accept it first", r.name(c))
	}
	path := expandHome(strings.Join(args, " "))
	label := "uploading " + termtext.Safe(filepath.Base(path))
	ref, err := r.files.Upload(ctx, path, r.transferProgress(label))
	if err != nil {
		return fmt.Errorf("%w (/send-file again resumes the upload)", err)
	}
	text, err := chat.FileText(ref)
	if err != nil {
		return err
	}
	return r.say(ctx, text)
}

func (r *REPL) cmdDownload(ctx context.Context, args []string) error {
	if r.files == nil {
		return errors.New("files need a connection to the node (qpc recv --save-dir)")
	}
	n, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil || n == 0 {
		return errors.New("usage: /download N [DIR], N the number of a file line ([file #N])")
	}
	dir := "."
	if len(args) == 2 {
		dir = expandHome(args[1])
	}
	c, err := r.current()
	if err != nil {
		return err
	}
	msgs, err := r.eng.History(c.ID, 0)
	if err != nil {
		return err
	}
	var ref files.Reference
	var msg chatdb.Message
	found := false
	for _, m := range msgs {
		if m.Seq == n && !m.System {
			var ok bool
			ref, ok, err = chat.ParseFileText(m.Text)
			if !ok {
				return fmt.Errorf("line %d of %s is not a file", n, r.name(c))
			}
			if err != nil {
				return err
			}
			msg, found = m, true
			break
		}
	}
	if !found {
		return fmt.Errorf("no line %d in %s", n, r.name(c))
	}
	// A download that waits for its sender's node resumes where it went.
	dest := r.pendingDest(msg.ID)
	if dest == "" {
		if dest, err = files.SavePath(dir, ref.Name); err != nil {
			return err
		}
	}
	label := "downloading " + termtext.Safe(filepath.Base(dest))
	r.dlMu.Lock()
	err = r.files.Download(ctx, ref, dest, r.transferProgress(label))
	r.dlMu.Unlock()
	if err != nil && waitsForRoute(err) && r.keepPending(msg.ID, dest, ref) {
		r.Printf("%s", termtext.Safe(fmt.Sprintf("%s waits for its sender's node %s (%v); it is saved to %s once a route appears, without /download again",
			ref.Name, ref.Home, err, dest)))
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (/download %d again resumes it)", err, n)
	}
	if pf, ok := r.eng.(pendingFiles); ok {
		_ = pf.DropPendingFile(msg.ID)
	}
	r.mu.Lock()
	r.saved[msg.ID] = dest
	r.mu.Unlock()
	if rec, ok := r.eng.(savedFiles); ok {
		if abs, err := filepath.Abs(dest); err == nil {
			// Only what the history shows later: the file is saved either way.
			_ = rec.SetFileSaved(msg.ID, abs)
		}
	}
	r.Printf("saved %s", termtext.Safe(dest))
	return nil
}

// savedFiles is the record of where files were saved, which the chat
// engine (*chat.Engine) keeps in the chat database; an engine without it
// (a test's) has the REPL's memory alone.
type savedFiles interface {
	FileSaved(id chatdb.MsgID) string
	SetFileSaved(id chatdb.MsgID, path string) error
}

var _ savedFiles = (*chat.Engine)(nil)

// savedPath is where the file of line id was saved: by this REPL, or
// (recorded in the chat database) by qpc recv --save-dir or an earlier
// REPL.
func (r *REPL) savedPath(id chatdb.MsgID) string {
	r.mu.Lock()
	p := r.saved[id]
	r.mu.Unlock()
	if p != "" {
		return p
	}
	if rec, ok := r.eng.(savedFiles); ok {
		return rec.FileSaved(id)
	}
	return ""
}

// summaryText is a line's text with a file line as its summary, for the
// places that quote a line (its state changed).
func summaryText(text string) string {
	if ref, ok, err := chat.ParseFileText(text); ok && err == nil {
		return chat.FileSummary(ref)
	}
	return text
}

// expandHome reads a leading "~/" as the home directory, as a shell
// would: the REPL's lines reach no shell.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}
