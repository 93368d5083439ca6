package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir))
	}
	goleak.VerifyTestMain(m)
}

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// testOptions are small bounds and a fixed clock at t0.
func testOptions() Options {
	return Options{
		Limits:         node.MailboxLimits{MaxMessages: 50, MaxBytes: 4096},
		MaxKeyPackages: 5,
		Now:            func() time.Time { return t0 },
	}
}

// openTest opens a store in a new file in t.TempDir() and, in cleanup,
// checks it with its bounds (unless the test closed it), closes it and
// checks the file's consistency.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.CheckIntegrity(); err != nil && !errors.Is(err, protocol.ErrStoreClosed) {
			t.Errorf("Check: %v", err)
		}
		if err := s.Close(); err != nil && !errors.Is(err, protocol.ErrStoreClosed) {
			t.Errorf("Close: %v", err)
		}
		checkFile(t, path)
	})
	return s
}

// checkFile runs Check on the closed database at path.
func checkFile(t testing.TB, path string) {
	t.Helper()
	if err := Check(path); err != nil {
		t.Errorf("Check(%s): %v", path, err)
	}
}

// mustCreate creates accounts for users.
func mustCreate(t testing.TB, s *Store, users ...string) {
	t.Helper()
	for _, u := range users {
		if err := s.CreateAccount(node.Account{User: u, Record: []byte("record of " + u), Created: t0}); err != nil {
			t.Fatalf("CreateAccount(%q): %v", u, err)
		}
	}
}

// msg is a message to user enqueued at t0 that expires after ttl.
func msg(user string, payload string, ttl time.Duration) protocol.NewMessage {
	return protocol.NewMessage{Recipient: user, Payload: []byte(payload), Enqueued: t0, Expires: t0.Add(ttl)}
}

// enqueue enqueues msgs and fails the test on a store error.
func enqueue(t testing.TB, s *Store, msgs ...protocol.NewMessage) []protocol.Receipt {
	t.Helper()
	rs, err := s.Enqueue(context.Background(), msgs)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(rs) != len(msgs) {
		t.Fatalf("Enqueue returned %d receipts for %d messages", len(rs), len(msgs))
	}
	return rs
}
