package chat

import (
	"errors"
	"strings"
	"testing"
	"time"

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
