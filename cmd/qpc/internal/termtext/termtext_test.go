package termtext

import (
	"bytes"
	"strings"
	"testing"
)

func TestSafeKeepsTextButNoControlOrFakeLine(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain text stays", "hello, wörld\ttab", "hello, wörld\ttab"},
		{"an escape sequence is defused", "\x1b[2Jgone", "\ufffd[2Jgone"},
		{"a carriage return cannot overwrite the line", "ok\rfake", "ok\ufffdfake"},
		{"a second line is indented", "one\ntwo", "one\n    two"},
		{"unicode line separators are defused", "a\u2028b\u2029c", "a\ufffdb\ufffdc"},
		{"C1 controls are defused", "a\u009bb", "a\ufffdb"},
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
