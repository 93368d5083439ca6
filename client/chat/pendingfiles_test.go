package chat

import (
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/files"
)

func pendingRef(name string) files.Reference {
	ref := files.Reference{Name: name, Size: 2*files.ChunkSize + 5, ChunkSize: files.ChunkSize,
		Home: "n1.test", Expires: time.UnixMilli(1_800_000_000_000)}
	ref.Key[0], ref.ID[1] = 9, 8
	return ref
}

func TestAPendingDownloadIsKeptUntilDropped(t *testing.T) {
	e := offlineEngine(t)
	a, b := chatdb.MsgID{1}, chatdb.MsgID{2}
	if ps, err := e.PendingFiles(); err != nil || len(ps) != 0 {
		t.Fatalf("a new database has pending files %v, %v", ps, err)
	}
	if err := e.AddPendingFile(PendingFile{ID: a, Dest: "/s/karte.pdf", Ref: pendingRef("karte.pdf")}); err != nil {
		t.Fatal(err)
	}
	if err := e.AddPendingFile(PendingFile{ID: b, Dest: "/s/foto.jpg", Ref: pendingRef("foto.jpg")}); err != nil {
		t.Fatal(err)
	}
	// The same line again keeps its first destination: one name per file.
	if err := e.AddPendingFile(PendingFile{ID: a, Dest: "/s/karte (2).pdf", Ref: pendingRef("karte.pdf")}); err != nil {
		t.Fatal(err)
	}
	ps, err := e.PendingFiles()
	if err != nil || len(ps) != 2 || ps[0].ID != a || ps[0].Dest != "/s/karte.pdf" || ps[1].Ref.Name != "foto.jpg" ||
		ps[1].Ref.Key != pendingRef("").Key || !ps[1].Ref.Expires.Equal(pendingRef("").Expires) {
		t.Fatalf("PendingFiles = %+v, %v", ps, err)
	}
	if err := e.DropPendingFile(a); err != nil {
		t.Fatal(err)
	}
	if ps, err := e.PendingFiles(); err != nil || len(ps) != 1 || ps[0].ID != b {
		t.Fatalf("after the drop: %+v, %v", ps, err)
	}
	if err := e.AddPendingFile(PendingFile{ID: a}); !errors.Is(err, ErrPendingFiles) {
		t.Errorf("an empty destination: %v", err)
	}
	// The record is bounded, and full refuses instead of pushing one out.
	for i := 0; i < maxPendingFiles-1; i++ {
		if err := e.AddPendingFile(PendingFile{ID: chatdb.MsgID{0, byte(i), 1}, Dest: "/x", Ref: pendingRef("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.AddPendingFile(PendingFile{ID: chatdb.MsgID{3}, Dest: "/x", Ref: pendingRef("x")}); !errors.Is(err, ErrPendingFull) {
		t.Fatalf("one beyond the bound: %v", err)
	}
	if ps, err := e.PendingFiles(); err != nil || len(ps) != maxPendingFiles || ps[0].ID != b {
		t.Fatalf("the full record: %d entries, %v", len(ps), err)
	}
}

func TestEveryTruncationOfAPendingFilesRecordIsRefused(t *testing.T) {
	one, err := marshalPendingFiles([]PendingFile{{ID: chatdb.MsgID{7}, Dest: "/a/b", Ref: pendingRef("a")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := marshalPendingFiles([]PendingFile{{ID: chatdb.MsgID{7}, Dest: "/a/b", Ref: pendingRef("a")}, {ID: chatdb.MsgID{8}, Dest: "/c", Ref: pendingRef("c")}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(b); i++ {
		if i == len(one) {
			continue // a whole first entry is a valid record
		}
		if _, err := parsePendingFiles(b[:i]); !errors.Is(err, ErrPendingFiles) {
			t.Fatalf("cut at %d of %d: %v", i, len(b), err)
		}
	}
}

func FuzzParsePendingFiles(f *testing.F) {
	b, _ := marshalPendingFiles([]PendingFile{{ID: chatdb.MsgID{1}, Dest: "/p", Ref: pendingRef("p")}})
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := parsePendingFiles(b)
		if err != nil {
			if !errors.Is(err, ErrPendingFiles) {
				t.Fatalf("an untyped error: %v", err)
			}
			return
		}
		again, err := marshalPendingFiles(ps)
		if err != nil {
			t.Fatalf("a parsed record does not marshal: %v", err)
		}
		qs, err := parsePendingFiles(again)
		if err != nil || len(qs) != len(ps) {
			t.Fatalf("round trip: %d entries, then %d, %v", len(ps), len(qs), err)
		}
		for i := range ps {
			if qs[i].ID != ps[i].ID || qs[i].Dest != ps[i].Dest || qs[i].Ref.ID != ps[i].Ref.ID || qs[i].Ref.Key != ps[i].Ref.Key {
				t.Fatalf("entry %d changed in the round trip", i)
			}
		}
	})
}
