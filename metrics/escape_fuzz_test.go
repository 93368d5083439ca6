package metrics

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// unquoteLabelValue reads an escaped label value from the start of s, up to
// its closing double quote, as a Prometheus parser does, and returns the
// value and what follows the quote. It is strict: an escape other than \\,
// \" and \n, or a raw line feed, is an error.
func unquoteLabelValue(s string) (value, rest string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\n':
			return "", "", errors.New("raw line feed in a label value")
		case '\\':
			i++
			if i == len(s) {
				return "", "", errors.New("backslash at the end")
			}
			switch s[i] {
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'n':
				b.WriteByte('\n')
			default:
				return "", "", errors.New("unknown escape \\" + string(s[i]))
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("no closing quote")
}

// unescapeHelp undoes the escaping of a HELP line.
func unescapeHelp(s string) (string, error) {
	if strings.Contains(s, "\n") {
		return "", errors.New("raw line feed in help")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch {
		case i == len(s):
			return "", errors.New("backslash at the end")
		case s[i] == '\\':
			b.WriteByte('\\')
		case s[i] == 'n':
			b.WriteByte('\n')
		default:
			return "", errors.New("unknown escape \\" + string(s[i]))
		}
	}
	return b.String(), nil
}

// FuzzLabelValueEscaping escapes arbitrary label values and help texts,
// through a whole scrape, and parses them back.
func FuzzLabelValueEscaping(f *testing.F) {
	for _, s := range []string{"", `"`, `\`, "\n", `\n`, `a\"b`, "\\\"\n\\n", "\xff\xfe", "grüße", "}", `"} 1` + "\nx 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		// The escaper alone round-trips any bytes.
		esc := string(appendEscapedLabelValue(nil, value))
		got, rest, err := unquoteLabelValue(esc + `"`)
		if err != nil || got != value || rest != "" {
			t.Fatalf("escaped %q as %q, read back %q, rest %q, err %v", value, esc, got, rest, err)
		}
		help, err := unescapeHelp(string(appendEscapedHelp(nil, value)))
		if err != nil || help != value {
			t.Fatalf("help %q read back as %q, err %v", value, help, err)
		}

		// Through a scrape, the value comes back as valid UTF-8 and the line
		// is well formed.
		r := NewRegistry()
		r.MustCounterVec("c_total", value, "l").With(value).Inc()
		text := scrape(t, r)
		lines := strings.Split(text, "\n")
		if len(lines) != 4 || lines[3] != "" {
			t.Fatalf("scrape is not three lines:\n%q", text)
		}
		want := strings.ToValidUTF8(value, "\uFFFD")
		if help, err := unescapeHelp(strings.TrimPrefix(lines[0], "# HELP c_total ")); err != nil || help != want {
			t.Fatalf("HELP line %q read back as %q, err %v", lines[0], help, err)
		}
		sample, ok := strings.CutPrefix(lines[2], `c_total{l="`)
		if !ok {
			t.Fatalf("sample line %q", lines[2])
		}
		got, rest, err = unquoteLabelValue(sample)
		if err != nil || rest != "} 1" {
			t.Fatalf("sample line %q: value %q, rest %q, err %v", lines[2], got, rest, err)
		}
		if got != want || !utf8.ValidString(got) {
			t.Fatalf("label value %q read back as %q, want %q", value, got, want)
		}
	})
}
