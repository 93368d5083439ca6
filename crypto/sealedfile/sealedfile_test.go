package sealedfile

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// testKDF is the least Argon2id cost, so that tests run fast; the cost
// does not change the format.
var testKDF = KDF{Time: 1, Memory: 8, Threads: 1}

var pass = []byte("correct horse battery staple")

func seal(t testing.TB, content []byte, chunk int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := Create(&out, Options{Purpose: PurposeBackup, Secret: Passphrase, Key: pass, KDF: testKDF, ChunkSize: chunk})
	if err != nil {
		t.Fatal(err)
	}
	// Written in odd pieces, so that chunk boundaries fall inside writes.
	for p := content; len(p) > 0; {
		k := min(len(p), 777)
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func open(file []byte, key []byte) ([]byte, error) {
	r, err := Open(bytes.NewReader(file), PurposeBackup, func(SecretKind) ([]byte, error) { return key, nil })
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestContentOfEverySizeAroundChunkBoundariesReadsBackWhole(t *testing.T) {
	const c = MinChunkSize
	for _, n := range []int{0, 1, c - 1, c, c + 1, 2 * c, 3*c + 5} {
		content := random(n)
		file := seal(t, content, c)
		chunks := max(1, (n+c-1)/c)
		if n > 0 && n%c == 0 {
			chunks = n / c // a full last chunk, not an empty one after it
		}
		if want := HeaderSize + n + 16*chunks; len(file) != want {
			t.Errorf("%d bytes: file of %d bytes, want %d", n, len(file), want)
		}
		got, err := open(file, pass)
		if err != nil || !bytes.Equal(got, content) {
			t.Errorf("%d bytes: read back %d bytes, %v", n, len(got), err)
		}
	}
}

func TestAWrongPassphraseIsRefusedAsSuchBeforeAnyChunk(t *testing.T) {
	file := seal(t, []byte("secret state"), 0)
	_, err := open(file, []byte("correct horse battery stapler"))
	if !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("wrong passphrase: %v, want ErrWrongSecret", err)
	}
	var ce *ChunkError
	if errors.As(err, &ce) {
		t.Errorf("a wrong passphrase named chunk %d", ce.Index)
	}
}

func TestTheSecretCallbackIsAskedForTheKindTheFileWants(t *testing.T) {
	var out bytes.Buffer
	seed := random(32)
	w, err := Create(&out, Options{Purpose: PurposeArchive, Secret: RecoveryCode, Key: seed, KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	w.Close()
	var asked SecretKind
	r, err := Open(bytes.NewReader(out.Bytes()), PurposeArchive, func(k SecretKind) ([]byte, error) { asked = k; return seed, nil })
	if err != nil || asked != RecoveryCode || r.Header().Secret != RecoveryCode {
		t.Fatalf("asked for %v: %v", asked, err)
	}
	if _, err := Open(bytes.NewReader(out.Bytes()), PurposeBackup, func(SecretKind) ([]byte, error) { return seed, nil }); !errors.Is(err, ErrWrongPurpose) {
		t.Errorf("an archive opened as a backup: %v", err)
	}
	stop := errors.New("no code at hand")
	if _, err := Open(bytes.NewReader(out.Bytes()), PurposeArchive, func(SecretKind) ([]byte, error) { return nil, stop }); !errors.Is(err, stop) {
		t.Errorf("the callback's error was lost: %v", err)
	}
}

func TestChangedDroppedMovedCutAndAppendedChunksAreRefusedWithTheirIndex(t *testing.T) {
	const c = MinChunkSize
	content := random(3*c + 100) // chunks 0, 1, 2 full, 3 the short last one
	file := seal(t, content, c)
	chunk := func(i int) (int, int) { // the chunk's bytes in file
		start := HeaderSize + i*(c+16)
		return start, min(start+c+16, len(file))
	}
	cut := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	s1, e1 := chunk(1)
	s2, e2 := chunk(2)
	_, e3 := chunk(3)
	flipped := bytes.Clone(file)
	flipped[s1+10] ^= 1

	// A copy whose content is a whole number of chunks, to cut and extend
	// at a boundary.
	even := seal(t, content[:2*c], c)
	_, evenEnd0 := HeaderSize, HeaderSize+c+16

	cases := []struct {
		name  string
		file  []byte
		index uint64
		want  error
	}{
		{"a byte changed in chunk 1", flipped, 1, ErrTampered},
		{"chunk 1 dropped", cut(file[:s1], file[e1:]), 1, ErrTampered},
		{"chunks 1 and 2 swapped", cut(file[:s1], file[s2:e2], file[s1:e1], file[e2:]), 1, ErrTampered},
		{"the last chunk dropped", file[:e2], 2, ErrTruncated},
		{"cut inside the last chunk", file[:e3-1], 3, ErrTampered},
		{"cut to less than a tag", file[:e2+5], 3, ErrTruncated},
		{"cut at a chunk boundary of a whole-chunk file", even[:evenEnd0], 0, ErrTruncated},
		{"a chunk appended after the last", cut(even, even[HeaderSize:HeaderSize+c+16]), 1, ErrTrailingData},
		{"bytes appended after a full last chunk", cut(even, []byte("more")), 1, ErrTrailingData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := open(tc.file, pass)
			var ce *ChunkError
			if !errors.Is(err, tc.want) || !errors.As(err, &ce) || ce.Index != tc.index {
				t.Fatalf("got %v, want %v at chunk %d", err, tc.want, tc.index)
			}
		})
	}
}

func TestAChangedHeaderIsRefused(t *testing.T) {
	file := seal(t, []byte("state"), 0)
	for _, tc := range []struct {
		name string
		off  int
		want error
	}{
		{"magic", 0, ErrNotSealedFile},
		{"purpose", 6, ErrWrongPurpose},
		{"secret kind", 7, ErrBadHeader},
		{"salt", 20, ErrWrongSecret}, // another salt is another key
		{"chunk size", 35, ErrTampered},
		{"key check", 40, ErrWrongSecret},
	} {
		f := bytes.Clone(file)
		f[tc.off] ^= 0x40
		if _, err := open(f, pass); !errors.Is(err, tc.want) {
			t.Errorf("%s changed: %v, want %v", tc.name, err, tc.want)
		}
	}
	f := bytes.Clone(file)
	f[5] = 0
	if _, err := open(f, pass); !errors.Is(err, ErrVersionTooOld) {
		t.Errorf("version 0: %v", err)
	}
	f[5] = Version + 1
	if _, err := open(f, pass); !errors.Is(err, ErrVersionUnknown) {
		t.Errorf("version %d: %v", Version+1, err)
	}
	f = bytes.Clone(file)
	f[12] = 0xff // memory in the GiBs: refused before Argon2id runs
	if _, err := open(f, pass); !errors.Is(err, ErrBadHeader) {
		t.Errorf("a cost beyond the bound: %v", err)
	}
	if _, err := open(file[:HeaderSize-1], pass); !errors.Is(err, ErrBadHeader) {
		t.Errorf("a short header: %v", err)
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	w, err := Create(io.Discard, Options{Purpose: PurposeBackup, Secret: Passphrase, Key: pass, KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

// FuzzOpen feeds Open arbitrary files: it must return an error or the
// content, never panic, and never hand out bytes of a chunk that did not
// open.
func FuzzOpen(f *testing.F) {
	f.Add(seal(f, nil, 0))
	f.Add(seal(f, []byte("hello"), 0))
	f.Add(seal(f, random(2*MinChunkSize+3), MinChunkSize))
	f.Fuzz(func(t *testing.T, file []byte) {
		if h, err := ParseHeader(file); err == nil && (h.KDF.Memory > 64 || h.KDF.Time > 2) {
			return // a legal but costly Argon2id: slow, not interesting
		}
		got, err := open(file, pass)
		if err == nil && len(got) > len(file) {
			t.Fatalf("%d bytes of content from a file of %d", len(got), len(file))
		}
	})
}
