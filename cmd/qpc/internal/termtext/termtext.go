package termtext

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Safe is the one way text from elsewhere reaches a terminal: message
// text, user, device, group and channel names, strings a node sent, and
// error texts that quote any of them. What could act on the terminal or
// on how a person reads the line becomes U+FFFD, visibly: C0 and C1
// controls (so ESC, and with it every ANSI and OSC sequence, is inert),
// DEL, the Unicode line and paragraph separators, and the bidi
// embeddings, overrides, isolates and marks that reorder what follows
// them (Trojan Source). Invalid UTF-8 becomes U+FFFD too. A newline stays,
// but the lines after it are indented, so that a message cannot pass off
// a line of its text as a header line of another message. Tabs stay.
// --json output does not go through Safe: JSON carries the exact text.
func Safe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) && !reorders(r) && r != '\u2028' && r != '\u2029' {
			return r
		}
		return utf8.RuneError
	}, s)
	return strings.ReplaceAll(s, "\n", "\n"+Continuation)
}

// Continuation is what Safe puts before every line of a text after its
// first: no header line of ours starts with white space.
const Continuation = "    "

// reorders reports the characters of the Unicode bidirectional algorithm
// that change the order in which the text after them is shown: a name
// ending in U+202E would show the rest of the line backwards.
func reorders(r rune) bool {
	switch r {
	case '\u061c', // arabic letter mark
		'\u200e', '\u200f', // left-to-right and right-to-left marks
		'\u202a', '\u202b', '\u202c', '\u202d', '\u202e', // embeddings, pop, overrides
		'\u2066', '\u2067', '\u2068', '\u2069': // isolates
		return true
	}
	return false
}

// Line is Safe for text that must stay on one line, such as a cell of a
// table: a newline or a tab, which would break the columns, becomes
// U+FFFD too.
func Line(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return utf8.RuneError
		}
		return r
	}, Safe(strings.ReplaceAll(s, "\n", "\t")))
}

// Table prints rows in columns two spaces apart (text/tabwriter would
// do, at 9 KiB of binary, which the router build pays for). Every cell
// goes through Line: tables show what nodes report (domains, reasons,
// counter names).
func Table(w io.Writer, rows [][]string) {
	safe := make([][]string, len(rows))
	for i, r := range rows {
		safe[i] = make([]string, len(r))
		for j, cell := range r {
			safe[i][j] = Line(cell)
		}
	}
	rows = safe
	var width []int
	for _, r := range rows {
		for i, cell := range r {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(cell))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, cell := range r {
			if i == len(r)-1 {
				b.WriteString(cell)
				break
			}
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", width[i]-len(cell)+2))
		}
		fmt.Fprintln(w, b.String())
	}
}

// Plural returns word for one, word+"s" for any other count.
func Plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// SafetyNumber lays out a safety number as people read it aloud, on every
// surface the same: twelve groups of five digits, four groups a line, each
// line indented and ended. It takes the number grouped or not (white space
// is ignored), so that nothing is grouped twice.
func SafetyNumber(number string) string {
	digits := strings.Join(strings.Fields(number), "")
	var b strings.Builder
	for i := 0; i < len(digits); i += 5 {
		if i%20 == 0 {
			b.WriteString("  ")
		}
		b.WriteString(digits[i:min(i+5, len(digits))])
		if (i+5)%20 == 0 || i+5 >= len(digits) {
			b.WriteString("\n")
		} else {
			b.WriteString(" ")
		}
	}
	return b.String()
}
