package termtext

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSafeKeepsTextButNoControlOrFakeLine(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain text stays", "hello, wörld\ttab", "hello, wörld\ttab"},
		{"an escape sequence is defused", "\x1b[2Jgone", "\ufffd[2Jgone"},
		{"a carriage return cannot overwrite the line", "ok\rfake", "ok\ufffdfake"},
		{"a second line is indented", "one\ntwo", "one\n    two"},
		{"unicode line separators are defused", "a\u2028b\u2029c", "a\ufffdb\ufffdc"},
		{"C1 controls are defused", "a\u009bb", "a\ufffdb"},
		{"an OSC sequence (here: set the window title) is defused", "\x1b]0;pwned\x07x", "\ufffd]0;pwned\ufffdx"},
		{"the bell and DEL are defused", "a\x07b\x7fc", "a\ufffdb\ufffdc"},
		{"a right-to-left override cannot reverse the rest", "admin\u202etxt.exe", "admin\ufffdtxt.exe"},
		{"bidi isolates and marks are defused", "\u2066a\u2067b\u2068c\u2069\u200e\u200f\u061c", "\ufffda\ufffdb\ufffdc\ufffd\ufffd\ufffd\ufffd"},
		{"bidi embeddings are defused", "\u202a\u202b\u202c\u202d", "\ufffd\ufffd\ufffd\ufffd"},
		{"a fake header line is indented", "ok\n[2026-12-06 19:27:11] carol@alpha.mesh: spoofed", "ok\n    [2026-12-06 19:27:11] carol@alpha.mesh: spoofed"},
		{"CRLF cannot return to the start of the line", "ok\r\nx", "ok\ufffd\n    x"},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", "a\ufffdb"},
		{"right-to-left script itself stays", "שלום", "שלום"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Safe(tt.in); got != tt.want {
				t.Errorf("Safe(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTableAlignsColumnsTwoSpacesApart(t *testing.T) {
	var b bytes.Buffer
	Table(&b, [][]string{{"A", "BB", "C"}, {"long", "x", "last column is not padded"}})
	want := "A     BB  C\nlong  x   last column is not padded\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestTableCellsStayOnOneLineAndInert(t *testing.T) {
	var b bytes.Buffer
	Table(&b, [][]string{{"DOMAIN", "VIA"}, {"evil\n[fake] row", "\x1b[2J\u202ex\ty"}})
	want := "DOMAIN             VIA\nevil\ufffd[fake] row  \ufffd[2J\ufffdx\ufffdy\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestPluralCountsOneAsSingular(t *testing.T) {
	for n, want := range map[int]string{0: "posts", 1: "post", 2: "posts"} {
		if got := Plural(n, "post"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSafetyNumberIsTwelveGroupsOfFiveFourALineGroupedOrNot(t *testing.T) {
	want := "  01234 56789 01234 56789\n  01234 56789 01234 56789\n  01234 56789 01234 56789\n"
	for _, in := range []string{
		strings.TrimSpace(strings.Repeat("01234 56789 ", 6)), // as identity.SafetyNumber makes it
		strings.Repeat("0123456789", 6),
	} {
		if got := SafetyNumber(in); got != want {
			t.Errorf("SafetyNumber(%q) =\n%s\nwant\n%s", in, got, want)
		}
	}
}

// FuzzSafe checks what Safe promises for any input: valid UTF-8, no rune
// that acts on a terminal or reorders text, every newline followed by the
// continuation indent, and every harmless rune of the input kept in order.
func FuzzSafe(f *testing.F) {
	for _, seed := range []string{"", "plain", "\x1b[2J\x07", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "a\u202eb", "a\nb\r\n", "\xff\xfe", "\u2028\u2029\u0085"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if line := Line(in); strings.ContainsAny(line, "\n\t") || Safe(line) != line {
			t.Fatalf("Line(%q) = %q is not one inert line", in, line)
		}
		out := Safe(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Safe(%q) = %q is not valid UTF-8", in, out)
		}
		for i, r := range out {
			if r == '\n' {
				if !strings.HasPrefix(out[i+1:], Continuation) {
					t.Fatalf("Safe(%q) = %q: a newline without the continuation indent", in, out)
				}
				continue
			}
			if r != '\t' && unicode.IsControl(r) || reorders(r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("Safe(%q) = %q keeps %U", in, out, r)
			}
		}
		want := strings.Map(func(r rune) rune {
			if r == utf8.RuneError || r == '\n' || r == '\t' || unicode.IsControl(r) || reorders(r) || r == '\u2028' || r == '\u2029' {
				return -1
			}
			return r
		}, in)
		kept := strings.Map(func(r rune) rune {
			if r == utf8.RuneError || r == '\n' || r == '\t' || r == ' ' {
				return -1
			}
			return r
		}, out)
		if strings.ReplaceAll(want, " ", "") != kept {
			t.Fatalf("Safe(%q) = %q lost or added text: want %q, kept %q", in, out, want, kept)
		}
	})
}
