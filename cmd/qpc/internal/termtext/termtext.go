package termtext

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Safe makes a text from someone else fit to print: control characters,
// which could rewrite the terminal, become U+FFFD, and lines after the
// first are indented, so that a post cannot pass off a line of its text
// as another post.
func Safe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) && r != '\u2028' && r != '\u2029' {
			return r
		}
		return utf8.RuneError
	}, s)
	return strings.ReplaceAll(s, "\n", "\n    ")
}

// Table prints rows in columns two spaces apart (text/tabwriter would
// do, at 9 KiB of binary, which the router build pays for).
func Table(w io.Writer, rows [][]string) {
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
