package repl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/files"
	"github.com/quicprochat/qpc/cmd/qpc/internal/repl/repltest"
	"github.com/quicprochat/qpc/protocol"
)

// pendingEngine is repltest's engine with an in-memory pending record.
type pendingEngine struct {
	*repltest.Engine
	pending []chat.PendingFile
	saved   map[chatdb.MsgID]string
}

func (e *pendingEngine) PendingFiles() ([]chat.PendingFile, error) {
	return append([]chat.PendingFile(nil), e.pending...), nil
}
func (e *pendingEngine) AddPendingFile(p chat.PendingFile) error {
	e.pending = append(e.pending, p)
	return nil
}
func (e *pendingEngine) DropPendingFile(id chatdb.MsgID) error {
	kept := e.pending[:0]
	for _, p := range e.pending {
		if p.ID != id {
			kept = append(kept, p)
		}
	}
	e.pending = kept
	return nil
}
func (e *pendingEngine) FileSaved(id chatdb.MsgID) string { return e.saved[id] }
func (e *pendingEngine) SetFileSaved(id chatdb.MsgID, path string) error {
	e.saved[id] = path
	return nil
}

// routeFiles downloads by writing the file, or fails with err.
type routeFiles struct {
	err   error
	calls []string
}

func (f *routeFiles) Upload(context.Context, string, func(files.Progress)) (files.Reference, error) {
	return files.Reference{}, fmt.Errorf("not here")
}
func (f *routeFiles) Download(_ context.Context, _ files.Reference, dest string, _ func(files.Progress)) error {
	f.calls = append(f.calls, dest)
	if f.err != nil {
		return f.err
	}
	return os.WriteFile(dest, []byte("x"), 0o600)
}

func TestPendingDownloadsAreRetriedSavedOrDroppedWhenExpired(t *testing.T) {
	dir := t.TempDir()
	eng := &pendingEngine{Engine: repltest.New("bob@b.example"), saved: map[chatdb.MsgID]string{}}
	later, past := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
	waiting := chat.PendingFile{ID: chatdb.MsgID{1}, Dest: filepath.Join(dir, "plan.bin"), Ref: files.Reference{Name: "plan.bin", Home: "a.example", Expires: later}}
	expired := chat.PendingFile{ID: chatdb.MsgID{2}, Dest: filepath.Join(dir, "old.bin"), Ref: files.Reference{Name: "old.bin", Home: "a.example", Expires: past}}
	eng.pending = []chat.PendingFile{waiting, expired}
	if err := os.WriteFile(expired.Dest+files.PartSuffix, []byte("part"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := &routeFiles{err: fmt.Errorf("chunk 0: %w", protocol.ErrPeerUnreachable)}
	sio := &scriptIO{}
	r := New(Config{Engine: eng, Label: repltest.Label, IO: sio, Files: fs})

	// Out of reach: the waiting one stays and says nothing; the expired
	// one goes with its part file and says so, never fetched.
	r.retryPending(context.Background(), eng)
	out := sio.output()
	mustContain(t, out, "old.bin expired on a.example")
	if len(eng.pending) != 1 || eng.pending[0].ID != waiting.ID || len(fs.calls) != 1 || fs.calls[0] != waiting.Dest {
		t.Fatalf("after a retry without a route: pending %v, downloads %v", eng.pending, fs.calls)
	}
	if _, err := os.Stat(expired.Dest + files.PartSuffix); !os.IsNotExist(err) {
		t.Errorf("the expired file's part file is left: %v", err)
	}

	// A route: saved under its first name, recorded, dropped.
	fs.err = nil
	r.retryPending(context.Background(), eng)
	mustContain(t, sio.output(), "saved "+waiting.Dest+" (it waited for its sender's node a.example)")
	if len(eng.pending) != 0 || eng.saved[waiting.ID] != waiting.Dest {
		t.Fatalf("after the retry with a route: pending %v, saved %v", eng.pending, eng.saved)
	}

	// Another failure (not a route's) leaves the record and says why.
	eng.pending = []chat.PendingFile{{ID: chatdb.MsgID{3}, Dest: filepath.Join(dir, "bad.bin"), Ref: files.Reference{Name: "bad.bin", Expires: later}}}
	fs.err = fmt.Errorf("chunk 1: %w", files.ErrTampered)
	r.retryPending(context.Background(), eng)
	mustContain(t, sio.output(), "bad.bin not saved")
	if len(eng.pending) != 0 {
		t.Fatalf("a tampered file still waits: %v", eng.pending)
	}
}
