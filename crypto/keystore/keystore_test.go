package keystore

import (
	"bytes"
	"errors"
	"testing"
)

var (
	exportKey = bytes.Repeat([]byte{0x42}, 64)
	otherKey  = bytes.Repeat([]byte{0x43}, 64)
)

func mustSeal(t testing.TB, plaintext []byte) []byte {
	t.Helper()
	f, err := Seal(exportKey, plaintext)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAKeystoreOpensWithTheKeyItWasSealedWith(t *testing.T) {
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"an empty state", nil},
		{"a short state", []byte(`{"user":"alice@a.example"}`)},
		{"a 100 KiB state", bytes.Repeat([]byte{7}, 100<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustSeal(t, tt.plaintext)
			if len(f) != Overhead+len(tt.plaintext) {
				t.Errorf("file is %d bytes, want %d", len(f), Overhead+len(tt.plaintext))
			}
			if !bytes.HasPrefix(f, []byte("QPCKS\x01")) {
				t.Errorf("file starts % x", f[:6])
			}
			got, err := Open(exportKey, f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Error("state changed in the round trip")
			}
		})
	}
}

func TestSealingTwiceGivesDifferentFiles(t *testing.T) {
	a, b := mustSeal(t, []byte("same")), mustSeal(t, []byte("same"))
	if bytes.Equal(a[6:HeaderSize], b[6:HeaderSize]) {
		t.Error("salt and nonce repeated")
	}
}

func TestOpenRejects(t *testing.T) {
	valid := mustSeal(t, []byte("identity keys and session token"))
	change := func(at int) []byte { c := bytes.Clone(valid); c[at] ^= 0x01; return c }
	tests := []struct {
		name string
		key  []byte
		file []byte
		want error
	}{
		{"another export key as a wrong key", otherKey, valid, ErrWrongKey},
		{"a changed magic as not a keystore", exportKey, change(0), ErrNotKeystore},
		{"an empty file as not a keystore", exportKey, nil, ErrNotKeystore},
		{"a PEM file as not a keystore", exportKey, []byte("-----BEGIN PRIVATE KEY-----\n"), ErrNotKeystore},
		{"version 0 as too old", exportKey, change(5), ErrTooOld},
		{"version 2 as unsupported", exportKey, func() []byte { c := bytes.Clone(valid); c[5] = 2; return c }(), ErrUnsupportedVersion},
		{"a changed salt as a wrong key", exportKey, change(6), ErrWrongKey},
		{"a changed nonce as a wrong key", exportKey, change(40), ErrWrongKey},
		{"a changed ciphertext as a wrong key", exportKey, change(HeaderSize + 2), ErrWrongKey},
		{"a changed tag as a wrong key", exportKey, change(len(valid) - 1), ErrWrongKey},
		{"an appended byte as a wrong key", exportKey, append(bytes.Clone(valid), 0), ErrWrongKey},
		{"the magic alone as truncated", exportKey, valid[:5], ErrTruncated},
		{"the header alone as truncated", exportKey, valid[:HeaderSize], ErrTruncated},
		{"a file one byte short of a tag as truncated", exportKey, valid[:Overhead-1], ErrTruncated},
		{"a 16-byte export key as too short", exportKey[:16], valid, ErrShortKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.key, tt.file); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOpenRejectsEveryTruncation(t *testing.T) {
	valid := mustSeal(t, []byte("state"))
	for n := 0; n < len(valid); n++ {
		_, err := Open(exportKey, valid[:n])
		if err == nil {
			t.Fatalf("a file truncated to %d bytes opened", n)
		}
		if n >= len(Magic)+1 && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrWrongKey) {
			t.Fatalf("truncated to %d bytes: got %v", n, err)
		}
	}
}

func TestSealRejectsAShortExportKey(t *testing.T) {
	if _, err := Seal(make([]byte, MinKeySize-1), nil); !errors.Is(err, ErrShortKey) {
		t.Errorf("got %v, want ErrShortKey", err)
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(mustSeal(f, []byte("seed state")))
	f.Add(mustSeal(f, nil))
	f.Add([]byte("QPCKS"))
	f.Fuzz(func(t *testing.T, file []byte) {
		if _, err := Open(exportKey, file); err == nil && len(file) < Overhead {
			t.Fatalf("opened a %d-byte file", len(file))
		}
	})
}

func BenchmarkSealOpen4KiB(b *testing.B) {
	state := make([]byte, 4<<10)
	for b.Loop() {
		f, err := Seal(exportKey, state)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Open(exportKey, f); err != nil {
			b.Fatal(err)
		}
	}
}
