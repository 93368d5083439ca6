package metrics

import (
	"math"
	"runtime"
	"strconv"
)

// ContentType is the media type of the text exposition format 0.0.4 that
// WriteText produces and Handler serves.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// textWriter accumulates one scrape's exposition text. A scrape is written
// to memory first so that the HTTP handler can send it with a Content-Length
// and so that slow clients never hold anything the hot path needs.
type textWriter struct {
	buf []byte

	// mem is read at most once per scrape, by the first runtime family that
	// needs it: ReadMemStats stops the world, so it must not run per family.
	mem     runtime.MemStats
	memRead bool
}

// memStats returns the scrape's memory statistics, reading them on first use.
func (w *textWriter) memStats() *runtime.MemStats {
	if !w.memRead {
		runtime.ReadMemStats(&w.mem)
		w.memRead = true
	}
	return &w.mem
}

// header writes the # HELP and # TYPE lines of a family.
func (w *textWriter) header(name, help string, typ metricType) {
	w.buf = append(w.buf, "# HELP "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = appendEscapedHelp(w.buf, help)
	w.buf = append(w.buf, "\n# TYPE "...)
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, ' ')
	w.buf = append(w.buf, typ...)
	w.buf = append(w.buf, '\n')
}

// series writes a series name and its label set, up to the value. extraName
// and extraValue, when extraName is not empty, are one more label after the
// declared ones (a histogram bucket's "le").
func (w *textWriter) series(name, suffix string, names, values []string, extraName, extraValue string) {
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, suffix...)
	if len(names) == 0 && extraName == "" {
		return
	}
	w.buf = append(w.buf, '{')
	for i, n := range names {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendLabel(w.buf, n, values[i])
	}
	if extraName != "" {
		if len(names) > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendLabel(w.buf, extraName, extraValue)
	}
	w.buf = append(w.buf, '}')
}

// float ends a series line with a float value.
func (w *textWriter) float(v float64) {
	w.buf = append(w.buf, ' ')
	w.buf = appendFloat(w.buf, v)
	w.buf = append(w.buf, '\n')
}

// uint ends a series line with an exact integer value.
func (w *textWriter) uint(v uint64) {
	w.buf = append(w.buf, ' ')
	w.buf = strconv.AppendUint(w.buf, v, 10)
	w.buf = append(w.buf, '\n')
}

func appendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	b = appendEscapedLabelValue(b, value)
	return append(b, '"')
}

// appendEscapedLabelValue escapes backslash, double quote and line feed, the
// three characters the text format escapes inside a label value.
func appendEscapedLabelValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendEscapedHelp escapes backslash and line feed, the two characters the
// text format escapes in a HELP line (a double quote stays as it is there).
func appendEscapedHelp(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// maxExactInt is the bound below which a float64 holds every integer
// exactly.
const maxExactInt = 1 << 53

// appendFloat formats v as Prometheus expects: NaN, +Inf and -Inf spelled
// out, and numbers in the shortest form that reads back as the same float64.
// Between 1e-4 and 1e15 that form is written without an exponent, so that
// counts and byte sizes read as plain numbers ("1000000", not strconv's
// "1e+06").
func appendFloat(b []byte, v float64) []byte {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case v == 0:
		// Also turns -0 into 0.
		return append(b, '0')
	case a >= 1e-4 && a < 1e15:
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	default:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	}
}
