//go:build !router

package client

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// cheapKDF keeps the tests fast; the format records whatever cost was used.
var cheapKDF = OfflineKDF{Time: 1, Memory: 64, Threads: 1}

func TestOfflineKeyOpensWithThePasswordOnly(t *testing.T) {
	dir := t.TempDir()
	export := bytes.Repeat([]byte{7}, 64)
	if _, err := OpenOfflineKey(dir, "alice", "x.mesh", []byte("pw")); !errors.Is(err, ErrNoOfflineKey) {
		t.Fatalf("before any save: %v, want ErrNoOfflineKey", err)
	}
	if err := SaveOfflineKey(dir, "alice", "x.mesh", []byte("right horse"), export, cheapKDF); err != nil {
		t.Fatal(err)
	}
	got, err := OpenOfflineKey(dir, "Alice", "X.mesh", []byte("right horse"))
	if err != nil || !bytes.Equal(got, export) {
		t.Fatalf("open with the password: %x, %v", got, err)
	}
	if _, err := OpenOfflineKey(dir, "alice", "x.mesh", []byte("wrong horse")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("open with another password: %v, want ErrWrongPassword", err)
	}
}

func TestOfflineKeyIsRewrittenOnlyWhenTheExportKeyChanged(t *testing.T) {
	dir := t.TempDir()
	export := bytes.Repeat([]byte{1}, 64)
	if err := SaveOfflineKey(dir, "bob", "x.mesh", []byte("old"), export, cheapKDF); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(offlineKeyPath(dir, "bob", "x.mesh"))
	if err := SaveOfflineKey(dir, "bob", "x.mesh", []byte("old"), export, cheapKDF); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(offlineKeyPath(dir, "bob", "x.mesh"))
	if !bytes.Equal(first, again) {
		t.Fatal("a save of the same export key rewrote the file")
	}
	// A new password gives a new export key: the file follows it.
	newExport := bytes.Repeat([]byte{2}, 64)
	if err := SaveOfflineKey(dir, "bob", "x.mesh", []byte("new"), newExport, cheapKDF); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenOfflineKey(dir, "bob", "x.mesh", []byte("old")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("the old password after a change: %v", err)
	}
	if got, err := OpenOfflineKey(dir, "bob", "x.mesh", []byte("new")); err != nil || !bytes.Equal(got, newExport) {
		t.Fatalf("the new password: %x %v", got, err)
	}
}

func TestOfflineKeyFilesThatAreMalformedAreRefused(t *testing.T) {
	export := bytes.Repeat([]byte{3}, 64)
	k := &offlineKey{kdf: cheapKDF, salt: make([]byte, offlineSaltSize), check: offlineCheck(export, make([]byte, offlineSaltSize)), sealed: make([]byte, 100)}
	good := k.encode()
	if _, err := decodeOfflineKey(good); err != nil {
		t.Fatalf("a well-formed file: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte
	}{
		{"truncated to its header", func(b []byte) []byte { return b[:offlineHeaderSize] }},
		{"empty", func(b []byte) []byte { return nil }},
		{"of another magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"of a newer version", func(b []byte) []byte { b[5] = 2; return b }},
		{"with zero passes", func(b []byte) []byte { copy(b[6:10], []byte{0, 0, 0, 0}); return b }},
		{"asking for too much memory", func(b []byte) []byte { copy(b[10:14], []byte{0xff, 0xff, 0xff, 0xff}); return b }},
		{"with zero threads", func(b []byte) []byte { b[14] = 0; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeOfflineKey(tc.edit(bytes.Clone(good))); !errors.Is(err, ErrBadOfflineKey) {
				t.Fatalf("got %v, want ErrBadOfflineKey", err)
			}
		})
	}
}

// FuzzDecodeOfflineKey checks that any file decodes or fails with
// ErrBadOfflineKey, and that what decodes encodes back to the same bytes.
func FuzzDecodeOfflineKey(f *testing.F) {
	k := &offlineKey{kdf: cheapKDF, salt: make([]byte, offlineSaltSize), check: make([]byte, offlineCheckSize), sealed: make([]byte, 80)}
	f.Add(k.encode())
	f.Add([]byte(offlineKeyMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := decodeOfflineKey(b)
		if err != nil {
			if !errors.Is(err, ErrBadOfflineKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(k.encode(), b) {
			t.Fatal("decode then encode changed the file")
		}
	})
}
