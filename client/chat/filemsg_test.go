package chat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/files"
)

func TestAFileLineRoundTrips(t *testing.T) {
	ref := files.Reference{Name: "Karte.pdf", MIME: "application/pdf", Size: 3*files.ChunkSize + 1, ChunkSize: files.ChunkSize,
		Home: "a.test", Expires: time.UnixMilli(1_800_000_000_000)}
	ref.Key[3], ref.ID[5] = 1, 2
	s, err := FileText(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := ParseFileText(s)
	if err != nil || !ok || got.Name != ref.Name || got.Key != ref.Key || got.ID != ref.ID || got.Size != ref.Size {
		t.Fatalf("ParseFileText = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := ParseFileText("hello"); ok || err != nil {
		t.Errorf("a text line read as a file line: %v %v", ok, err)
	}
	for _, bad := range []string{FilePrefix, FilePrefix + "!!", FilePrefix + s[len(FilePrefix):len(s)-4]} {
		if _, ok, err := ParseFileText(bad); !ok || !errors.Is(err, ErrFileLine) || !errors.Is(err, ErrFrame) {
			t.Errorf("ParseFileText(%q) = %v, %v, want ErrFileLine", bad, ok, err)
		}
	}
	if !strings.Contains(FileSummary(ref), "Karte.pdf (384.0 KiB, application/pdf)") {
		t.Errorf("summary %q", FileSummary(ref))
	}
}

func FuzzParseFileText(f *testing.F) {
	f.Add("hello")
	f.Add(FilePrefix + "UVBDRgE")
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok, err := ParseFileText(s)
		if !ok || err != nil {
			return
		}
		again, err := FileText(ref)
		if err != nil {
			t.Fatalf("a parsed reference does not encode: %v", err)
		}
		if _, _, err := ParseFileText(again); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWhereAFileWasSavedIsKeptInTheChatDatabase(t *testing.T) {
	e := offlineEngine(t)
	a, b := chatdb.MsgID{1}, chatdb.MsgID{2}
	if got := e.FileSaved(a); got != "" {
		t.Fatalf("FileSaved of a line never saved = %q", got)
	}
	if err := e.SetFileSaved(a, "/home/a/karte.pdf"); err != nil {
		t.Fatal(err)
	}
	if err := e.SetFileSaved(b, "/home/a/karte (2).pdf"); err != nil {
		t.Fatal(err)
	}
	if e.FileSaved(a) != "/home/a/karte.pdf" || e.FileSaved(b) != "/home/a/karte (2).pdf" {
		t.Fatalf("FileSaved = %q, %q", e.FileSaved(a), e.FileSaved(b))
	}
	if err := e.SetFileSaved(a, ""); !errors.Is(err, ErrSavedFiles) {
		t.Errorf("an empty path: %v", err)
	}
	// The record is bounded: the oldest go.
	for i := 0; i < maxSavedFiles; i++ {
		if err := e.SetFileSaved(chatdb.MsgID{0, byte(i), byte(i >> 8)}, "/x"); err != nil {
			t.Fatal(err)
		}
	}
	if e.FileSaved(a) != "" || e.FileSaved(chatdb.MsgID{0, byte(maxSavedFiles - 1)}) != "/x" {
		t.Error("the record kept more than its bound, or lost the newest")
	}
}

func TestEveryTruncationOfASavedFilesRecordIsRefused(t *testing.T) {
	b := marshalSavedFiles([]savedFile{{ID: chatdb.MsgID{7}, Path: "/a/b"}, {ID: chatdb.MsgID{8}, Path: "/c"}})
	for i := 1; i < len(b); i++ {
		if i == 16+2+4 {
			continue // a whole first entry is a valid record
		}
		if _, err := parseSavedFiles(b[:i]); !errors.Is(err, ErrSavedFiles) {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
}

func FuzzParseSavedFiles(f *testing.F) {
	f.Add(marshalSavedFiles([]savedFile{{ID: chatdb.MsgID{1}, Path: "/p"}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseSavedFiles(b)
		if err != nil {
			return
		}
		if again := marshalSavedFiles(fs); string(again) != string(b) {
			t.Fatalf("round trip changed the record")
		}
	})
}
