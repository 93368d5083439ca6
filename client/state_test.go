package client

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/quicprochat/qpc/crypto/keystore"
)

func TestStateOpensOnlyWithTheExportKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qpc") // SaveState creates it
	key := bytes.Repeat([]byte{1}, 64)
	s := &State{User: "alice", Domain: "n.example.mesh", Server: "n:7000", Keys: []byte{1, 2, 3}, SessionToken: []byte("tok")}
	if err := SaveState(dir, key, s); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(statePath(dir, "alice", "n.example.mesh"))
	if bytes.Contains(raw, []byte("tok")) || bytes.Contains(raw, []byte("alice")) {
		t.Error("state file holds plaintext")
	}
	got, err := LoadState(dir, "alice", "n.example.mesh", key)
	if err != nil || got.Server != "n:7000" || !bytes.Equal(got.Keys, []byte{1, 2, 3}) {
		t.Fatalf("LoadState = %+v, %v", got, err)
	}
	if _, err := LoadState(dir, "alice", "n.example.mesh", bytes.Repeat([]byte{2}, 64)); !errors.Is(err, keystore.ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := LoadState(dir, "bob", "n.example.mesh", key); !errors.Is(err, ErrNoState) {
		t.Errorf("no state: %v", err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %o, want 700", fi.Mode().Perm())
	}
}

func TestCurrentRoundTrips(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCurrent(dir); !errors.Is(err, ErrNoState) {
		t.Errorf("no current: %v", err)
	}
	cur := Current{User: "a", Domain: "d", Server: "s:1", Fingerprint: "f"}
	if err := SaveCurrent(dir, cur); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadCurrent(dir); err != nil || got != cur {
		t.Errorf("LoadCurrent = %+v, %v", got, err)
	}
}
