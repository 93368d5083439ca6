package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSafeNameDefusesHostileNames(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"photo.jpg", "photo.jpg"},
		{"../x", "_x"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{".bashrc", "bashrc"},
		{"...", "file"},
		{"..", "file"},
		{"a/b", "a_b"},
		{`a\b`, "a_b"},
		{"/abs", "_abs"},
		{"bell\x07.txt", "bell_.txt"},
		{"line\nbreak", "line_break"},
		{"evil\u202Etxt.exe", "evil_txt.exe"},
		{"zero\u200Bwidth", "zero_width"},
		{"bad\xffutf8", "bad_utf8"},
		{"", "file"},
		{"  . hidden", "hidden"},
		{"Grüße 😀.txt", "Grüße 😀.txt"},
	} {
		if got := SafeName(tt.in); got != tt.want {
			t.Errorf("SafeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("ä", 300) + ".pdf"
	if got := SafeName(long); len(got) > maxSaveName || !strings.HasSuffix(got, ".pdf") || !utf8.ValidString(got) {
		t.Errorf("a long name became %d bytes %q", len(got), got)
	}
}

func TestSavePathNeverPicksAnExistingName(t *testing.T) {
	dir := t.TempDir()
	var got []string
	for i := 0; i < 3; i++ {
		p, err := SavePath(dir, "../report.pdf")
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(p) != dir {
			t.Fatalf("%s is outside %s", p, dir)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(p))
	}
	want := []string{"_report.pdf", "_report (2).pdf", "_report (3).pdf"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("names %q, want %q", got, want)
		}
	}
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"a.txt", "../x", ".bashrc", "a/b", "\x00", "\u202Eexe.txt", "..", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s := SafeName(name)
		if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") || len(s) > maxSaveName {
			t.Fatalf("SafeName(%q) = %q", name, s)
		}
		if !utf8.ValidString(s) || strings.ContainsAny(s, `/\:`) {
			t.Fatalf("SafeName(%q) = %q", name, s)
		}
		for _, r := range s {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("SafeName(%q) = %q keeps %U", name, s, r)
			}
		}
		if filepath.Base(s) != s {
			t.Fatalf("SafeName(%q) = %q is not one element", name, s)
		}
	})
}
