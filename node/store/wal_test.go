package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// crashWALOnlyEnv makes the crash child enqueue and ack only, into a log
// that never checkpoints (see crashChild).
const crashWALOnlyEnv = "QPC_STORE_CRASH_WAL_ONLY"

// crashAcker acks u0 up to the newest message the child saw stored, as
// a receiver would, until ctx ends, and prints each ack once it returned.
func crashAcker(ctx context.Context, s *Store, w *bufio.Writer, out *sync.Mutex) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var acked uint64
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		last, err := s.LastSeq("u0")
		if err != nil {
			return
		}
		if last <= acked+4 {
			continue
		}
		// Said before the ack, so that the test knows which messages an
		// ack the child was killed in may have removed.
		out.Lock()
		fmt.Fprintf(w, "acking u0 %d x\n", last-2)
		w.Flush()
		out.Unlock()
		if _, err := s.Ack("u0", last-2); err != nil {
			return
		}
		acked = last - 2
		out.Lock()
		fmt.Fprintf(w, "acked u0 %d x\n", acked)
		w.Flush()
		out.Unlock()
	}
}

// walOptions are test options with a log that checkpoints only when told.
func walOptions() Options {
	o := testOptions()
	o.WALMaxBytes, o.WALMaxAge = 1<<40, time.Hour
	return o
}

// bboltMessages counts the messages bbolt itself holds for user in the
// closed or killed store's file, without replaying the log.
func bboltMessages(t *testing.T, path, user string) int {
	t.Helper()
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	err = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMailboxes).Bucket([]byte(user)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSIGKILLWithMessagesOnlyInTheWAL kills a child that enqueues and acks
// into a log that never checkpoints, checks that bbolt alone holds none of
// the acknowledged messages (they were only in the log), then that the
// reopened store holds every acknowledged message not acked, and none
// that an acknowledged ack removed, with consecutive seqs.
func TestSIGKILLWithMessagesOnlyInTheWAL(t *testing.T) {
	t.Setenv(crashWALOnlyEnv, "1")
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	got := runCrashChild(t, dir, 2000)
	var acked, acking uint64
	msgs := 0
	for _, a := range got {
		switch a.kind {
		case "acking":
			acking = max(acking, a.seq)
		case "acked":
			acked = max(acked, a.seq)
		case "ack":
			msgs++
		}
	}
	if acked == 0 {
		t.Fatalf("the child acked nothing in %d lines", len(got))
	}
	t.Logf("child killed after %d acknowledged messages, u0 acked up to %d (asked up to %d)", msgs, acked, acking)
	for u := range crashUsers {
		if n := bboltMessages(t, path, fmt.Sprintf("u%d", u)); n != 0 {
			t.Fatalf("bbolt holds %d messages of u%d before replay; the test wants them only in the log", n, u)
		}
	}
	if err := Check(path); err != nil {
		t.Fatalf("Check of the killed store with its log: %v", err)
	}
	checkWALCrashStore(t, path, got, acked, acking)
	// Replayed and checkpointed at Close: bbolt holds them now.
	if n := bboltMessages(t, path, "u1"); n == 0 {
		t.Error("after reopen and Close bbolt holds no message of u1")
	}
	checkWALCrashStore(t, path, got, acked, acking) // and a second open finds the same
}

// checkWALCrashStore opens the store at path and checks what
// TestSIGKILLWithMessagesOnlyInTheWAL wants of it: u0's messages up to
// acked (an ack that returned) are gone, those above acking (no ack was
// even asked for) are there.
func checkWALCrashStore(t *testing.T, path string, got []crashAck, acked, acking uint64) {
	t.Helper()
	s, err := Open(path, crashOptions())
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	stored := map[string]map[uint64]string{}
	for u := range crashUsers {
		user := fmt.Sprintf("u%d", u)
		msgs, err := s.Fetch(user, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		last, err := s.LastSeq(user)
		if err != nil {
			t.Fatal(err)
		}
		first := uint64(1)
		if user == "u0" {
			first = acked + 1
			if len(msgs) > 0 && msgs[0].Seq <= acked {
				t.Errorf("u0 holds message %d, acked up to %d before the crash", msgs[0].Seq, acked)
			}
		}
		stored[user] = map[uint64]string{}
		for i, m := range msgs {
			if user != "u0" && m.Seq != first+uint64(i) {
				t.Fatalf("%s: message %d has seq %d; want consecutive from %d", user, i, m.Seq, first)
			}
			if i > 0 && m.Seq != msgs[i-1].Seq+1 {
				t.Fatalf("%s: seq %d follows %d", user, m.Seq, msgs[i-1].Seq)
			}
			p := string(m.Payload)
			stored[user][m.Seq] = p[:strings.IndexByte(p, '-')]
		}
		if len(msgs) > 0 && last != msgs[len(msgs)-1].Seq {
			t.Errorf("%s: last seq %d, newest message %d", user, last, msgs[len(msgs)-1].Seq)
		}
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Errorf("Check after SIGKILL: %v", err)
	}
	for _, a := range got {
		if a.kind != "ack" || (a.name == "u0" && a.seq <= acking) {
			continue
		}
		if p, ok := stored[a.name][a.seq]; !ok || p != a.id {
			t.Errorf("message %s seq %d (%s) is missing or different after the crash: %q", a.name, a.seq, a.id, p)
		}
	}
}

// walFile returns the bytes of the log of the store at path.
func walFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path + WALSuffix)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// killedStore leaves a store at path as a process killed after its last
// group commit would: the log holds what was committed since the last
// checkpoint. It copies the files of the open store s, which it then
// closes, and restores the copies.
func killedStore(t *testing.T, s *Store, path string) {
	t.Helper()
	db, wal := copyFile(t, path), walFile(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, db)
	writeFile(t, path+WALSuffix, wal)
}

func copyFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// enqueueN enqueues n messages to user, one group each, and returns
// their seqs.
func enqueueN(t *testing.T, s *Store, user string, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := range n {
		rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg(user, fmt.Sprintf("m%d", i), time.Hour)})
		if err != nil || rs[0].Err != nil {
			t.Fatalf("enqueue: %v %v", err, rs)
		}
		seqs = append(seqs, rs[0].Seq)
	}
	return seqs
}

// fetchSeqs returns the seqs Fetch gives for user.
func fetchSeqs(t *testing.T, s *Store, user string) []uint64 {
	t.Helper()
	msgs, err := s.Fetch(user, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, m := range msgs {
		seqs = append(seqs, m.Seq)
	}
	return seqs
}

// TestATornLastWALRecordIsCutAndEverythingBeforeItKept cuts the log in
// every byte of its last frame and checks that replay keeps the groups
// before it and never the torn one.
func TestATornLastWALRecordIsCutAndEverythingBeforeItKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, walOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	enqueueN(t, s, "bob", 3)
	before := int64(len(walFile(t, path)))
	enqueueN(t, s, "bob", 1)
	db, wal := copyFile(t, path), walFile(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(len(wal)) <= before {
		t.Fatalf("the last group wrote nothing to the log: %d then %d bytes", before, len(wal))
	}
	for cut := before; cut <= int64(len(wal)); cut++ {
		writeFile(t, path, db)
		writeFile(t, path+WALSuffix, wal[:cut])
		if err := Check(path); err != nil {
			t.Fatalf("cut at %d of %d: Check: %v", cut, len(wal), err)
		}
		s, err := Open(path, walOptions())
		if err != nil {
			t.Fatalf("cut at %d of %d: Open: %v", cut, len(wal), err)
		}
		want := []uint64{1, 2, 3}
		if cut == int64(len(wal)) {
			want = append(want, 4)
		}
		if got := fetchSeqs(t, s, "bob"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("cut at %d of %d: bob holds %v, want %v", cut, len(wal), got, want)
		}
		// The torn frame's seq is free again, and the next message
		// takes it.
		if seqs := enqueueN(t, s, "bob", 1); seqs[0] != uint64(len(want)+1) {
			t.Errorf("cut at %d: the next message has seq %d, want %d", cut, seqs[0], len(want)+1)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Zeros where the frame should be (a file extended but not written)
	// are a torn frame too.
	writeFile(t, path, db)
	writeFile(t, path+WALSuffix, append(bytes.Clone(wal[:before]), make([]byte, len(wal)-int(before))...))
	s, err = Open(path, walOptions())
	if err != nil {
		t.Fatalf("zeroed last frame: Open: %v", err)
	}
	defer s.Close()
	if got := fetchSeqs(t, s, "bob"); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("zeroed last frame: bob holds %v, want [1 2 3]", got)
	}
}

// TestAnAckInTheWALWinsOverAnEnqueueCheckpointedBefore checkpoints
// messages into bbolt, acks some of them into the log only, and checks
// that after a crash the acked ones do not come back, and that replaying
// the same log twice (Open after a crash before the log restarted)
// changes nothing.
func TestAnAckInTheWALWinsOverAnEnqueueCheckpointedBefore(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, walOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	enqueueN(t, s, "bob", 5)
	if err := s.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if n := bboltMessagesOpen(t, s, "bob"); n != 5 {
		t.Fatalf("bbolt holds %d messages after the checkpoint, want 5", n)
	}
	if n, err := s.Ack("bob", 3); err != nil || n != 3 {
		t.Fatalf("Ack: %d, %v", n, err)
	}
	enqueueN(t, s, "bob", 1) // 6, only in the log
	if n := bboltMessagesOpen(t, s, "bob"); n != 5 {
		t.Fatalf("bbolt holds %d messages after an ack into the log, want the 5 still", n)
	}
	if got := fetchSeqs(t, s, "bob"); fmt.Sprint(got) != "[4 5 6]" {
		t.Fatalf("before the crash bob holds %v, want [4 5 6]", got)
	}
	killedStore(t, s, path)
	wal := walFile(t, path)
	for round := range 2 {
		s, err := Open(path, walOptions())
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := fetchSeqs(t, s, "bob"); fmt.Sprint(got) != "[4 5 6]" {
			t.Errorf("round %d: after replay bob holds %v, want [4 5 6]", round, got)
		}
		if n, b, _ := s.Depth("bob"); n != 3 || b != 6 {
			t.Errorf("round %d: depth %d messages %d bytes, want 3, 6", round, n, b)
		}
		if last, _ := s.LastSeq("bob"); last != 6 {
			t.Errorf("round %d: last seq %d, want 6", round, last)
		}
		// Open folded the log into bbolt: as a crash before the log
		// restarted would leave them, put the old log back beside it,
		// and make bbolt forget that it folded it, so that the second
		// round replays every record again over what holds them.
		folded := copyFile(t, path)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		checkFile(t, path)
		writeFile(t, path, folded)
		writeFile(t, path+WALSuffix, wal)
		forgetFold(t, path)
	}
}

// forgetFold sets the generation bbolt records as folded back to 0.
func forgetFold(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyWALGen, seqKey(0)) })
	if err != nil {
		t.Fatal(err)
	}
}

// bboltMessagesOpen counts the messages bbolt holds for user in the open
// store s, leaving the log's out.
func bboltMessagesOpen(t *testing.T, s *Store, user string) int {
	t.Helper()
	n := 0
	err := s.view("count", func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMailboxes).Bucket([]byte(user)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCheckFindsACorruptWALRecord flips a byte inside a frame that is not
// the last: Check and Open report ErrCorrupt instead of dropping the
// acknowledged groups after it.
func TestCheckFindsACorruptWALRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, walOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	enqueueN(t, s, "bob", 3)
	if err := s.CheckIntegrity(); err != nil {
		t.Fatalf("Check of a sound log: %v", err)
	}
	killedStore(t, s, path)
	wal := walFile(t, path)
	bad := bytes.Clone(wal)
	bad[walHeaderLen+walFrameHead+6] ^= 0x40 // inside the first frame's first entry
	writeFile(t, path+WALSuffix, bad)
	if err := Check(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Check of a log with a corrupt record: %v, want ErrCorrupt", err)
	}
	if s, err := Open(path, walOptions()); !errors.Is(err, ErrCorrupt) {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open of a log with a corrupt record: %v, want ErrCorrupt", err)
	}
	bad = bytes.Clone(wal)
	bad[3] ^= 1 // the header
	writeFile(t, path+WALSuffix, bad)
	if err := Check(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Check of a log with a corrupt header: %v, want ErrCorrupt", err)
	}
	writeFile(t, path+WALSuffix, wal)
	if err := Check(path); err != nil {
		t.Errorf("Check of the sound log again: %v", err)
	}
}

// TestAWriteTransactionFoldsTheWALFirst deletes an account whose messages
// only the log holds: they must not come back at the next checkpoint, nor
// after a crash.
func TestAWriteTransactionFoldsTheWALFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, walOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	mustCreate(t, s, "carol")
	enqueueN(t, s, "bob", 2)
	enqueueN(t, s, "carol", 2)
	if err := s.DeleteAccount("bob", t0); err != nil {
		t.Fatal(err)
	}
	if n := bboltMessagesOpen(t, s, "carol"); n != 2 {
		t.Errorf("after DeleteAccount bbolt holds %d of carol's messages, want 2 (folded first)", n)
	}
	if got := len(walFile(t, path)); got != walHeaderLen {
		t.Errorf("after the fold the log holds %d bytes, want its header alone", got)
	}
	killedStore(t, s, path)
	s, err = Open(path, walOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Fetch("bob", 0, 10); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Fetch of the deleted account: %v", err)
	}
	if got := fetchSeqs(t, s, "carol"); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("carol holds %v, want [1 2]", got)
	}
}

// TestTheWALCheckpointsBySizeAndAge checks both triggers: a log past
// WALMaxBytes is folded after the group that filled it, and a lone record
// WALMaxAge after it was written.
func TestTheWALCheckpointsBySizeAndAge(t *testing.T) {
	opts := walOptions()
	opts.WALMaxBytes = 1024
	s := openTest(t, opts)
	mustCreate(t, s, "bob")
	enqueueN(t, s, "bob", 2)
	if n := bboltMessagesOpen(t, s, "bob"); n != 0 {
		t.Fatalf("bbolt holds %d messages below the bound", n)
	}
	rs, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg("bob", strings.Repeat("x", 1100), time.Hour)})
	if err != nil || rs[0].Err != nil {
		t.Fatal(err, rs)
	}
	waitFor(t, "a checkpoint by size", func() bool { return bboltMessagesOpen(t, s, "bob") == 3 })

	opts = walOptions()
	opts.WALMaxAge = 20 * time.Millisecond
	s = openTest(t, opts)
	mustCreate(t, s, "bob")
	enqueueN(t, s, "bob", 1)
	waitFor(t, "a checkpoint by age", func() bool { return bboltMessagesOpen(t, s, "bob") == 1 })
}

// TestWithoutWALNoLogFileIsLeft checks that NoWAL replays a log left by
// an earlier run and then removes it.
func TestWithoutWALNoLogFileIsLeft(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, walOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	enqueueN(t, s, "bob", 2)
	killedStore(t, s, path)
	opts := walOptions()
	opts.NoWAL = true
	s, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(path + WALSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the log is still there: %v", err)
	}
	if got := fetchSeqs(t, s, "bob"); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("bob holds %v, want [1 2] replayed", got)
	}
}

// FuzzWALRecord feeds the log's decoder arbitrary files: it must not
// panic, and what it decodes must encode to the same frames.
func FuzzWALRecord(f *testing.F) {
	rec := encodeMessage(protocol.NewMessage{Payload: []byte("hello"), Enqueued: t0, Expires: t0.Add(time.Hour)})
	one := appendWALGroup(encodeWALHeader(7), []walEntry{{kind: walEnqueue, owner: "bob", seq: 1, rec: rec}, {kind: walAck, owner: "bob#0123456789abcdef", seq: 9}})
	f.Add(one)
	f.Add(appendWALGroup(bytes.Clone(one), []walEntry{{kind: walAck, owner: "x", seq: 2}}))
	f.Add(one[:len(one)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeWAL(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrRecordTooOld) && !errors.Is(err, ErrRecordUnknown) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if c.good > len(b) {
			t.Fatalf("good %d past the end %d", c.good, len(b))
		}
		if c.good == 0 {
			return
		}
		again := appendWALGroup(encodeWALHeader(c.gen), c.entries)
		c2, err := decodeWAL(again)
		if err != nil || len(c2.entries) != len(c.entries) {
			t.Fatalf("re-encoded log: %v, %d entries of %d", err, len(c2.entries), len(c.entries))
		}
		for i := range c.entries {
			a, b := c.entries[i], c2.entries[i]
			if a.kind != b.kind || a.owner != b.owner || a.seq != b.seq || !bytes.Equal(a.rec, b.rec) {
				t.Fatalf("entry %d: %+v became %+v", i, a, b)
			}
		}
	})
}

// TestABrokenWALFallsBackToBbolt breaks the log's file under the store:
// the group that fails to write is refused and stores nothing, the next
// goes to bbolt with what the log held, and a reopened store has exactly
// the acknowledged messages (the old log's records are not replayed over
// the fold that took them).
func TestABrokenWALFallsBackToBbolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, walOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "bob")
	enqueueN(t, s, "bob", 2)
	s.foldMu.Lock()
	s.wal.f.Close() // every write and truncate of the log fails now
	s.foldMu.Unlock()
	if _, err := s.Enqueue(context.Background(), []protocol.NewMessage{msg("bob", "lost", time.Hour)}); err == nil {
		t.Fatal("an enqueue into a log that cannot be written succeeded")
	}
	if seqs := enqueueN(t, s, "bob", 1); seqs[0] != 3 {
		t.Errorf("after the failed group the next message has seq %d, want 3", seqs[0])
	}
	if got := fetchSeqs(t, s, "bob"); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("bob holds %v, want [1 2 3]", got)
	}
	if n := bboltMessagesOpen(t, s, "bob"); n != 3 {
		t.Errorf("bbolt holds %d messages, want all 3 once the log broke", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, walOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := fetchSeqs(t, s, "bob"); fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("reopened, bob holds %v, want [1 2 3]", got)
	}
}
