//go:build !router

package client

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 64) }

func TestTheDataKeyOpensWithEveryPasswordOfThisMachineAndOnlyThose(t *testing.T) {
	dir := t.TempDir()
	data := key(1)
	if err := SaveState(dir, data, &State{User: "alice", Domain: "a.example"}); err != nil {
		t.Fatal(err)
	}
	if got, err := DataKey(dir, "alice", "a.example", data); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("DataKey without a file: %x, %v; want the export key itself", got, err)
	}
	// Two password changes: export keys 2, then 3.
	for _, k := range []byte{2, 3} {
		if err := WrapDataKey(dir, "alice", "a.example", data, key(k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []byte{2, 3} {
		got, err := DataKey(dir, "alice", "A.example", key(k))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("DataKey with export key %d: %x, %v", k, got[:1], err)
		}
		if _, err := LoadState(dir, "alice", "a.example", got); err != nil {
			t.Errorf("the state with export key %d: %v", k, err)
		}
	}
	// A password this machine never saw: the export key comes back, and
	// it does not open the state.
	got, err := DataKey(dir, "alice", "a.example", key(4))
	if err != nil || !bytes.Equal(got, key(4)) {
		t.Fatalf("DataKey of an unknown export key: %x, %v", got[:1], err)
	}
	if _, err := LoadState(dir, "alice", "a.example", got); err == nil {
		t.Error("the state opened with a key it was not sealed under")
	}
}

func TestTheDataKeyFileKeepsTheNewestEntries(t *testing.T) {
	dir := t.TempDir()
	if err := SaveState(dir, key(1), &State{User: "alice", Domain: "a.example"}); err != nil {
		t.Fatal(err)
	}
	for k := range byte(maxDataKeyWraps + 3) {
		if err := WrapDataKey(dir, "alice", "a.example", key(1), key(10+k)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := readDataKeyFile(dir, "alice", "a.example")
	if err != nil || len(entries) != maxDataKeyWraps {
		t.Fatalf("%d entries, %v; want %d", len(entries), err, maxDataKeyWraps)
	}
	if got, _ := DataKey(dir, "alice", "a.example", key(10+maxDataKeyWraps+2)); !bytes.Equal(got, key(1)) {
		t.Error("the newest export key does not find the data key")
	}
	if got, _ := DataKey(dir, "alice", "a.example", key(10)); bytes.Equal(got, key(1)) {
		t.Error("the oldest entry was kept beyond the bound")
	}
}

func TestAStaleDataKeyFileOfAnAccountWithoutStateIsRemoved(t *testing.T) {
	dir := t.TempDir()
	if err := WrapDataKey(dir, "alice", "a.example", key(1), key(2)); err != nil {
		t.Fatal(err)
	}
	got, err := DataKey(dir, "alice", "a.example", key(2))
	if err != nil || !bytes.Equal(got, key(2)) {
		t.Fatalf("DataKey without state: %x, %v; want the export key", got[:1], err)
	}
	if _, err := os.Stat(dataKeyPath(dir, "alice", "a.example")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale file stays: %v", err)
	}
}

func TestForgetAccountRemovesEveryFileOfTheAccountAndNoOther(t *testing.T) {
	dir := t.TempDir()
	for _, a := range []string{"alice", "bob"} {
		if err := SaveState(dir, key(1), &State{User: a, Domain: "a.example"}); err != nil {
			t.Fatal(err)
		}
		if err := WrapDataKey(dir, a, "a.example", key(1), key(2)); err != nil {
			t.Fatal(err)
		}
		for _, ext := range []string{".chat.db", ".replay", ".offline", ".alarms"} {
			if err := os.WriteFile(filepath.Join(dir, a+"@a.example"+ext), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := SaveCurrent(dir, Current{User: "alice", Domain: "a.example", Server: "x:1"}); err != nil {
		t.Fatal(err)
	}
	if err := ForgetAccount(dir, "Alice", "a.example"); err != nil {
		t.Fatal(err)
	}
	left, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 6 {
		t.Errorf("left after forgetting alice: %v; want bob's six files", left)
	}
	for _, p := range left {
		if !bytes.HasPrefix([]byte(filepath.Base(p)), []byte("bob@")) {
			t.Errorf("%s stays", p)
		}
	}
	if err := ForgetAccount(dir, "alice", "a.example"); err != nil {
		t.Errorf("forgetting again: %v", err)
	}
}

func TestMalformedDataKeyFilesAreRefusedByName(t *testing.T) {
	good := encodeDataKeyFile([][]byte{bytes.Repeat([]byte{7}, 100)})
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"an empty file", nil, ErrBadDataKeyFile},
		{"another magic", []byte("QPCOK\x01\x01"), ErrBadDataKeyFile},
		{"a header cut short", good[:6], ErrBadDataKeyFile},
		{"a later version", append([]byte("QPCDK\x02"), good[6:]...), ErrDataKeyTooNew},
		{"version 0", append([]byte("QPCDK\x00"), good[6:]...), ErrBadDataKeyFile},
		{"no entries", []byte("QPCDK\x01\x00"), ErrBadDataKeyFile},
		{"too many entries", []byte("QPCDK\x01\x09"), ErrBadDataKeyFile},
		{"an entry cut short", good[:len(good)-1], ErrBadDataKeyFile},
		{"bytes after the entries", append(append([]byte(nil), good...), 0), ErrBadDataKeyFile},
		{"an entry too long", encodeDataKeyFile([][]byte{make([]byte, maxDataKeyEntry+1)}), ErrBadDataKeyFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeDataKeyFile(tt.file); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	entries, err := decodeDataKeyFile(good)
	if err != nil || len(entries) != 1 || !bytes.Equal(entries[0], bytes.Repeat([]byte{7}, 100)) {
		t.Errorf("round trip: %v, %v", entries, err)
	}
}

func FuzzDataKeyFile(f *testing.F) {
	f.Add(encodeDataKeyFile([][]byte{bytes.Repeat([]byte{7}, 100)}))
	f.Add(encodeDataKeyFile([][]byte{{1}, {2, 3}, {}}))
	f.Add([]byte("QPCDK\x01\x08"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeDataKeyFile(b)
		if err != nil {
			return
		}
		if again := encodeDataKeyFile(entries); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %x, was %x", again, b)
		}
	})
}
