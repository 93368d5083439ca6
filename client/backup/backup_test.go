package backup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealedfile"
)

const addr = "alice@node1.example.mesh"

var (
	exportKey = bytes.Repeat([]byte{0x42}, 64)
	pass      = []byte("a backup passphrase")
	// testKDF is the least Argon2id cost: the cost does not change the
	// format, and tests run many.
	testKDF = sealedfile.KDF{Time: 1, Memory: 8, Threads: 1}
)

func options(key []byte) sealedfile.Options {
	return sealedfile.Options{Secret: sealedfile.Passphrase, Key: key, KDF: testKDF, ChunkSize: sealedfile.MinChunkSize}
}

func passphrase(key []byte) func(sealedfile.SecretKind) ([]byte, error) {
	return func(sealedfile.SecretKind) ([]byte, error) { return key, nil }
}

// makeState writes a state directory of addr as qpc leaves it: a sealed
// state file, a replay cache and a real chat database with a
// conversation of n messages.
func makeState(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ suffix, content string }{{".keystore", "sealed keys of alice"}, {".replay", "replay cache"}} {
		if err := os.WriteFile(filepath.Join(dir, addr+f.suffix), []byte(f.content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, err := chatdb.Open(chatdb.Path(dir, addr), exportKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conv := chatdb.Conversation{ID: chatdb.ConvID{1}, Kind: chatdb.KindDM, Name: "bob@node1.example.mesh", Peer: "bob@node1.example.mesh"}
	err = db.Update(func(tx *chatdb.Tx) error {
		if err := tx.PutConversation(&conv); err != nil {
			return err
		}
		for i := range n {
			if err := tx.AppendMessage(conv.ID, &chatdb.Message{From: addr, Time: time.Unix(int64(i), 0), Text: fmt.Sprintf("message %d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func manifest() Manifest {
	return Manifest{Address: addr, Server: "127.0.0.1:7000", Fingerprint: strings.Repeat("ab", 32), Device: identity.DeviceID{1, 2, 3},
		DeviceName: "laptop", Created: time.UnixMilli(1_800_000_000_123).UTC(), HoldsAccountKey: true}
}

func create(t *testing.T, dir string, key []byte) []byte {
	t.Helper()
	s, err := Snap(dir, manifest())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out bytes.Buffer
	if err := s.Write(&out, options(key), nil); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func history(t *testing.T, dir string) []chatdb.Message {
	t.Helper()
	db, err := chatdb.Open(chatdb.Path(dir, addr), exportKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ms []chatdb.Message
	if err := db.View(func(tx *chatdb.Tx) (err error) { ms, err = tx.Messages(chatdb.ConvID{1}, 0); return err }); err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestABackupRestoredIntoAnEmptyStateDirHoldsEveryFileAndTheHistory(t *testing.T) {
	dir := makeState(t, 500)
	file := create(t, dir, pass)

	fresh := filepath.Join(t.TempDir(), "new machine")
	r, err := Open(bytes.NewReader(file), passphrase(pass))
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Manifest(); m.Address != addr || m.DeviceName != "laptop" || !m.HoldsAccountKey || !m.Created.Equal(manifest().Created) || len(m.Files) != 3 {
		t.Fatalf("manifest %+v", m)
	}
	var last, total int64
	res, err := r.Restore(fresh, false, func(done, all int64) { last, total = done, all })
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Commit(); err != nil {
		t.Fatal(err)
	}
	if last != total || total != r.Manifest().Size() {
		t.Errorf("progress ended at %d of %d, content %d", last, total, r.Manifest().Size())
	}
	for _, suffix := range []string{".keystore", ".replay", ".chat.db"} {
		st, err := os.Stat(filepath.Join(fresh, addr+suffix))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", suffix, st.Mode(), err)
		}
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v", st.Mode())
	}
	got, _ := os.ReadFile(filepath.Join(fresh, addr+".keystore"))
	if string(got) != "sealed keys of alice" {
		t.Errorf("keystore restored as %q", got)
	}
	if ms := history(t, fresh); len(ms) != 500 || ms[499].Text != "message 499" {
		t.Errorf("restored history: %d messages", len(ms))
	}
	left, _ := filepath.Glob(filepath.Join(fresh, ".*"))
	if len(left) != 0 {
		t.Errorf("restore left %v", left)
	}
}

func TestAWrongPassphraseIsRefusedAndWritesNothing(t *testing.T) {
	file := create(t, makeState(t, 3), pass)
	_, err := Open(bytes.NewReader(file), passphrase([]byte("not the passphrase")))
	if !errors.Is(err, sealedfile.ErrWrongSecret) {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func TestAnExistingStateIsReplacedOnlyWithForceAndUndoPutsItBack(t *testing.T) {
	dir := makeState(t, 3)
	file := create(t, dir, pass)
	target := makeState(t, 7) // another state of the same account
	os.WriteFile(filepath.Join(target, addr+".offline"), []byte("offline key"), 0o600)
	open := func() *Reader {
		r, err := Open(bytes.NewReader(file), passphrase(pass))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if _, err := open().Restore(target, false, nil); !errors.Is(err, ErrStateExists) {
		t.Fatalf("restore over a state without force: %v", err)
	}
	if n := len(history(t, target)); n != 7 {
		t.Fatalf("refused restore changed the history: %d", n)
	}
	res, err := open().Restore(target, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(history(t, target)); n != 3 {
		t.Errorf("forced restore: history of %d", n)
	}
	if _, err := os.Stat(filepath.Join(target, addr+".offline")); err == nil {
		t.Errorf("a file the backup does not hold survived the restore beside it")
	}
	if err := res.Undo(); err != nil {
		t.Fatal(err)
	}
	if n := len(history(t, target)); n != 7 {
		t.Errorf("after Undo: history of %d, want the 7 of before", n)
	}
	if b, _ := os.ReadFile(filepath.Join(target, addr+".offline")); string(b) != "offline key" {
		t.Errorf("Undo did not put the offline key back")
	}
	res, err = open().Restore(target, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Commit()
	if left, _ := filepath.Glob(filepath.Join(target, ".*")); len(left) != 0 {
		t.Errorf("commit left %v", left)
	}
}

func TestACutOrAlteredBackupRestoresNothing(t *testing.T) {
	file := create(t, makeState(t, 200), pass)
	flipped := bytes.Clone(file)
	flipped[len(flipped)/2] ^= 1
	for name, f := range map[string][]byte{
		"cut at a chunk boundary": file[:sealedfile.HeaderSize+2*(sealedfile.MinChunkSize+16)],
		"cut inside":              file[:len(file)-3],
		"a byte changed":          flipped,
	} {
		fresh := t.TempDir()
		r, err := Open(bytes.NewReader(f), passphrase(pass))
		if err == nil {
			_, err = r.Restore(fresh, false, nil)
		}
		var ce *sealedfile.ChunkError
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a chunk error", name, err)
		}
		if entries, _ := os.ReadDir(fresh); len(entries) != 0 {
			t.Errorf("%s: restore left %d files", name, len(entries))
		}
	}
}

// sealContent seals raw content as a backup, for contents that Snapshot
// would never write.
func sealContent(t testing.TB, content []byte) []byte {
	var out bytes.Buffer
	o := options(pass)
	o.Purpose = sealedfile.PurposeBackup
	w, err := sealedfile.Create(&out, o)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	w.Close()
	return out.Bytes()
}

func TestContentThatBreaksTheFormatIsRefusedAsCorrupt(t *testing.T) {
	m := manifest()
	m.Files = []File{{Name: addr + ".keystore", Size: 4}}
	good, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	evil := bytes.Replace(good, []byte(addr+".keystore"), []byte("../../../etc/passwd.keystore"), 1)
	evil[bytes.Index(evil, []byte("../"))-1] = byte(len("../../../etc/passwd.keystore"))
	cases := map[string]struct {
		content []byte
		want    error
	}{
		"a file shorter than listed":  {append(bytes.Clone(good), "abc"...), ErrCorrupt},
		"content after the last file": {append(bytes.Clone(good), "abcde"...), ErrCorrupt},
		"a file name out of the dir":  {evil, ErrCorrupt},
		"another magic":               {append([]byte("QPCXX"), good[5:]...), ErrNotBackup},
		"a newer version":             {append([]byte("QPCBK\x02"), good[6:]...), ErrVersionUnknown},
	}
	for name, tc := range cases {
		fresh := t.TempDir()
		r, err := Open(bytes.NewReader(sealContent(t, tc.content)), passphrase(pass))
		if err == nil {
			_, err = r.Restore(fresh, false, nil)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if entries, _ := os.ReadDir(fresh); len(entries) != 0 {
			t.Errorf("%s: restore left %d files", name, len(entries))
		}
	}
}

func TestSnapshotWaitsForNoWriterButSaysWhenTheChatDatabaseIsOpen(t *testing.T) {
	dir := makeState(t, 1)
	db, err := chatdb.Open(chatdb.Path(dir, addr), exportKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Snap(dir, manifest()); !errors.Is(err, ErrInUse) {
		t.Fatalf("snapshot while qpc repl holds the database: %v", err)
	}
	if _, err := Snap(t.TempDir(), manifest()); !errors.Is(err, ErrNoState) {
		t.Errorf("snapshot of an empty dir: %v", err)
	}
}

func TestManifestRoundTripsAndEveryTruncationIsCorrupt(t *testing.T) {
	m := manifest()
	m.Files = []File{{Name: addr + ".keystore", Size: 10}, {Name: addr + ".chat.db", Size: 1 << 20}}
	b, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeManifest(bytes.NewReader(b))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(m) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for i := range b {
		if _, err := decodeManifest(bytes.NewReader(b[:i])); err == nil {
			t.Fatalf("a manifest cut to %d of %d bytes decoded", i, len(b))
		}
	}
}

// FuzzDecodeManifest: the decoder never panics, and what it accepts
// names only the account's own files and encodes back to the same bytes.
func FuzzDecodeManifest(f *testing.F) {
	m := manifest()
	m.Files = []File{{Name: addr + ".keystore", Size: 10}, {Name: addr + ".chat.db", Size: 99}, {Name: addr + ".replay", Size: 0}}
	b, _ := m.marshal()
	f.Add(b)
	f.Add(b[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, file := range m.Files {
			if strings.ContainsAny(file.Name, `/\`) || !strings.HasPrefix(file.Name, m.Address) {
				t.Fatalf("accepted file name %q", file.Name)
			}
		}
		again, err := m.marshal()
		if err != nil || !bytes.HasPrefix(b, again) {
			t.Fatalf("accepted %x, encodes as %x (%v)", b, again, err)
		}
	})
}

// BenchmarkBackupAndRestoreOf100000Messages measures a backup of a
// history of 100,000 messages and its restore, at the default Argon2id
// cost (which is part of what a person waits for).
func BenchmarkBackupAndRestoreOf100000Messages(b *testing.B) {
	dir := b.TempDir()
	db, err := chatdb.Open(chatdb.Path(dir, addr), exportKey)
	if err != nil {
		b.Fatal(err)
	}
	conv := chatdb.Conversation{ID: chatdb.ConvID{1}, Kind: chatdb.KindDM, Name: "bob@node1.example.mesh", Peer: "bob@node1.example.mesh"}
	db.Update(func(tx *chatdb.Tx) error { return tx.PutConversation(&conv) })
	for batch := range 100 {
		err := db.Update(func(tx *chatdb.Tx) error {
			for i := range 1000 {
				if err := tx.AppendMessage(conv.ID, &chatdb.Message{From: addr, Time: time.Unix(int64(batch*1000+i), 0),
					Text: fmt.Sprintf("message %d of a long history, about as long as a chat line is", batch*1000+i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	os.WriteFile(filepath.Join(dir, addr+".keystore"), []byte("sealed keys"), 0o600)
	o := sealedfile.Options{Secret: sealedfile.Passphrase, Key: pass}
	b.ResetTimer()
	for range b.N {
		s, err := Snap(dir, manifest())
		if err != nil {
			b.Fatal(err)
		}
		var out bytes.Buffer
		if err := s.Write(&out, o, nil); err != nil {
			b.Fatal(err)
		}
		s.Close()
		b.ReportMetric(float64(out.Len()), "file-bytes")
		r, err := Open(bytes.NewReader(out.Bytes()), passphrase(pass))
		if err != nil {
			b.Fatal(err)
		}
		res, err := r.Restore(b.TempDir(), false, nil)
		if err != nil {
			b.Fatal(err)
		}
		res.Commit()
	}
}

// FuzzRestore restores arbitrary contents, sealed as a backup, into an
// empty directory: it never panics, and whatever it accepts lands as the
// account's own files in that directory and nowhere else.
func FuzzRestore(f *testing.F) {
	m := manifest()
	m.Files = []File{{Name: addr + ".keystore", Size: 3}, {Name: addr + ".replay", Size: 2}}
	head, _ := m.marshal()
	f.Add(append(bytes.Clone(head), "keyrp"...))
	f.Add(append(bytes.Clone(head), "key"...))
	f.Fuzz(func(t *testing.T, content []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "state")
		r, err := Open(bytes.NewReader(sealContent(t, content)), passphrase(pass))
		if err != nil {
			return
		}
		res, err := r.Restore(dir, false, nil)
		if err != nil {
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a failed restore left %d files", len(entries))
			}
			return
		}
		res.Commit()
		entries, _ := os.ReadDir(dir)
		if len(entries) != len(r.Manifest().Files) {
			t.Fatalf("%d files in the state dir, %d restored", len(entries), len(r.Manifest().Files))
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), r.Manifest().Address) {
				t.Fatalf("restored %q", e.Name())
			}
		}
		if up, _ := os.ReadDir(parent); len(up) != 1 {
			t.Fatalf("restore wrote beside the state dir: %d entries", len(up))
		}
	})
}

// The qpc that holds the chat database open (the REPL) backs it up
// through its own read transaction: a line written after the snapshot
// began is not in the backup, the database stays writable meanwhile, and
// the restored history is the snapshot's.
func TestSnapOpenCopiesTheDatabaseItsHolderHasOpen(t *testing.T) {
	dir := makeState(t, 20)
	db, err := chatdb.Open(chatdb.Path(dir, addr), exportKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cp, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	s, err := SnapOpen(dir, manifest(), cp)
	if err != nil {
		t.Fatal(err)
	}
	// A line that comes meanwhile (the REPL's follower) is written, at
	// the latest once the snapshot is closed (a write that grows the file
	// waits for it), and is not in the backup.
	wrote := make(chan error, 1)
	go func() {
		wrote <- db.Update(func(tx *chatdb.Tx) error {
			return tx.AppendMessage(chatdb.ConvID{1}, &chatdb.Message{From: addr, Time: time.Unix(99, 0), Text: "after the snapshot"})
		})
	}()
	var out bytes.Buffer
	var last int64
	if err := s.Write(&out, options(pass), func(done, _ int64) { last = done }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write that came during the snapshot is still waiting after its Close")
	}
	if last != s.Manifest().Size() {
		t.Errorf("progress ended at %d of %d", last, s.Manifest().Size())
	}
	r, err := Open(bytes.NewReader(out.Bytes()), passphrase(pass))
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "new machine")
	res, err := r.Restore(fresh, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Commit(); err != nil {
		t.Fatal(err)
	}
	if ms := history(t, fresh); len(ms) != 20 || ms[19].Text != "message 19" {
		t.Errorf("restored history: %d messages, the last %+v", len(ms), ms[len(ms)-1])
	}
	if _, err := SnapOpen(t.TempDir(), manifest(), nil); err == nil {
		t.Error("SnapOpen without a copy")
	}
	cp2, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SnapOpen(t.TempDir(), manifest(), cp2); !errors.Is(err, ErrNoState) {
		t.Errorf("SnapOpen of an empty dir: %v", err)
	}
}
