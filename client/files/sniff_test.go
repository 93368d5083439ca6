package files

import (
	"bytes"
	"net/http"
	"testing"
)

// samples are the first bytes of files people send, each named as the
// web's sniffing rules name it (net/http's DetectContentType, which the
// test may link: the binary does not).
var samples = map[string][]byte{
	"png":       []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
	"jpeg":      []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
	"gif":       []byte("GIF89a\x01\x00\x01\x00"),
	"webp":      []byte("RIFF\x24\x00\x00\x00WEBPVP8 "),
	"wave":      []byte("RIFF\x24\x00\x00\x00WAVEfmt "),
	"pdf":       []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
	"zip":       []byte("PK\x03\x04\x14\x00\x00\x00"),
	"gzip":      []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"),
	"ogg":       []byte("OggS\x00\x02\x00\x00"),
	"mp3":       []byte("ID3\x04\x00\x00\x00\x00\x00"),
	"mp4":       []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"),
	"webm":      []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81"),
	"text":      []byte("Hallo vom Dach, die Antenne steht.\n"),
	"umlauts":   []byte("Grüße aus Köln\r\n"),
	"html":      []byte("<!DOCTYPE html>\n<html><head>"),
	"bom":       []byte("\xef\xbb\xbfcsv,with,bom\n"),
	"binary":    {0x00, 0x01, 0x02, 0xfe, 0xff, 0x10},
	"empty-ish": []byte("\t\n"),
	"woff2":     []byte("wOF2\x00\x01\x00\x00"),
}

func TestSniffNamesCommonFilesAsTheWebsRulesDo(t *testing.T) {
	for name, head := range samples {
		if got, want := sniff(head), http.DetectContentType(head); got != want {
			t.Errorf("%s: %q, net/http says %q", name, got, want)
		}
	}
}

func TestSniffLooksOnlyAtTheFirstBytes(t *testing.T) {
	text := bytes.Repeat([]byte("a"), sniffLen)
	if got := sniff(append(text, 0)); got != "text/plain; charset=utf-8" {
		t.Errorf("a binary byte after %d bytes of text: %q", sniffLen, got)
	}
}

// FuzzSniff: sniff never panics, and its answer always fits a Reference's
// MIME (printable ASCII, at most 127 bytes).
func FuzzSniff(f *testing.F) {
	for _, head := range samples {
		f.Add(head)
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		got := sniff(head)
		if got == "" || len(got) > 127 {
			t.Fatalf("%q", got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] > 0x7e {
				t.Fatalf("%q", got)
			}
		}
	})
}
