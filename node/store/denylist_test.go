package store

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

func TestDenyListsAreKeptPerAccountAcrossARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "alice", "bob")
	for _, snd := range []string{"mallory@a.test", "eve@b.test", "mallory@a.test"} {
		if err := s.SetDenied("alice", snd, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDenied("bob", "eve@b.test", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDenied("bob", "eve@b.test", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDenied("bob", "nobody@b.test", false); err != nil {
		t.Fatalf("removing what is not there: %v", err)
	}
	if err := s.SetDenied("carol", "eve@b.test", true); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Fatalf("a list of no account: %v, want ErrUnknownUser", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, testOptions()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		s.Close()
		checkFile(t, path)
	}()
	all, err := s.DenyLists()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || !slices.Equal(all["alice"], []string{"eve@b.test", "mallory@a.test"}) {
		t.Fatalf("after a restart: %v, want alice's two", all)
	}
	if err := s.DeleteAccount("alice", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.DenyLists(); len(all) != 0 {
		t.Fatalf("a deleted account's list stays: %v", all)
	}
}

func TestADenyListIsBounded(t *testing.T) {
	s := openTest(t, testOptions())
	mustCreate(t, s, "alice")
	for i := range node.MaxDenyList {
		if err := s.SetDenied("alice", fmt.Sprintf("u%d@a.test", i), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDenied("alice", "one-more@a.test", true); !errors.Is(err, node.ErrDenyListFull) {
		t.Fatalf("entry %d: %v, want ErrDenyListFull", node.MaxDenyList+1, err)
	}
	if err := s.SetDenied("alice", "u0@a.test", true); err != nil {
		t.Fatalf("blocking again who is on a full list: %v", err)
	}
	if err := s.SetDenied("alice", "u0@a.test", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDenied("alice", "one-more@a.test", true); err != nil {
		t.Fatalf("after a removal: %v", err)
	}
}

func TestReportsKeepTheNewestWithinTheBound(t *testing.T) {
	s := openTest(t, testOptions())
	for i := range node.MaxReports + 3 {
		r := node.Report{Received: t0.Add(time.Duration(i) * time.Second), Account: "alice", Sealed: []byte(fmt.Sprintf("sealed %d", i))}
		if err := s.AddReport(r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Reports()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != node.MaxReports {
		t.Fatalf("%d reports kept, want %d", len(got), node.MaxReports)
	}
	if got[0].ID != 4 || !bytes.Equal(got[0].Sealed, []byte("sealed 3")) || !got[0].Received.Equal(t0.Add(3*time.Second)) || got[0].Account != "alice" {
		t.Fatalf("oldest kept: %+v, want report 4", got[0])
	}
	if last := got[len(got)-1]; last.ID != node.MaxReports+3 {
		t.Fatalf("newest: %d", last.ID)
	}
	if err := s.AddReport(node.Report{Account: "alice"}); err == nil {
		t.Fatal("an empty report was kept")
	}
}

func FuzzDecodeReport(f *testing.F) {
	f.Add(encodeReport(node.Report{Received: t0, Account: "alice", Sealed: []byte("x")}))
	f.Add([]byte{recordVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReport(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrRecordTooOld) && !errors.Is(err, ErrRecordUnknown) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if again := encodeReport(r); !bytes.Equal(again, b) {
			t.Fatalf("decoded %x, encodes as %x", b, again)
		}
	})
}
