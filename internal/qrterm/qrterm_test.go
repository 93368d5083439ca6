package qrterm

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"rsc.io/qr"
)

// modules reads a rendering back: drawn[y][x] is true where the half cell
// for module row y, column x is drawn (light). Rows are twice the lines.
func modules(t *testing.T, lines []string) [][]bool {
	t.Helper()
	var rows [][]bool
	for i, line := range lines {
		top, bottom := []bool{}, []bool{}
		for _, r := range line {
			var u, l bool
			switch r {
			case '█':
				u, l = true, true
			case '▀':
				u = true
			case '▄':
				l = true
			case ' ':
			default:
				t.Fatalf("line %d: unexpected character %q", i, r)
			}
			top, bottom = append(top, u), append(bottom, l)
		}
		rows = append(rows, top, bottom)
	}
	return rows
}

func TestTheRenderingIsTheCodeWithAQuietZone(t *testing.T) {
	tests := []struct {
		name, text string
		size       int // modules per side of the code, without quiet zone
	}{
		{"a short text", "hello", 21},
		{"a channel share string", "qpc://channel/kiez-news#AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 37},
		{"a kilobyte", strings.Repeat("x", 1000), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := qr.Encode(tt.text, qr.M)
			if err != nil {
				t.Fatal(err)
			}
			if tt.size != 0 && code.Size != tt.size {
				t.Fatalf("rsc.io/qr chose %d modules, want %d", code.Size, tt.size)
			}
			lines, err := Lines(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			n := code.Size + 2*quietZone
			if len(lines) != (n+1)/2 {
				t.Fatalf("%d lines, want %d for %d modules", len(lines), (n+1)/2, n)
			}
			for i, line := range lines {
				if c := utf8.RuneCountInString(line); c != n {
					t.Fatalf("line %d has %d characters, want %d", i, c, n)
				}
			}
			drawn := modules(t, lines)
			for y := range drawn {
				for x := range drawn[y] {
					cx, cy := x-quietZone, y-quietZone
					var want bool
					switch {
					case y >= n: // the lower half of the last line
						want = false
					case cx < 0 || cy < 0 || cx >= code.Size || cy >= code.Size:
						want = true // quiet zone
					default:
						want = !code.Black(cx, cy)
					}
					if drawn[y][x] != want {
						t.Fatalf("module (%d, %d) of the rendering: drawn %v, want %v", x, y, drawn[y][x], want)
					}
				}
			}
			// A finder pattern's top row, seven dark modules, sits right
			// inside the quiet zone at the top left.
			for x := quietZone; x < quietZone+7; x++ {
				if drawn[quietZone][x] {
					t.Fatalf("module (%d, %d) is light: no finder pattern", x, quietZone)
				}
			}
		})
	}
}

func TestWritePrintsTheLinesEachEndedByANewline(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "hello"); err != nil {
		t.Fatal(err)
	}
	lines, err := Lines("hello")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(lines, "\n") + "\n"; buf.String() != want {
		t.Fatalf("Write printed\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestATextTooLongForAQRCodeIsAnError(t *testing.T) {
	if _, err := Lines(strings.Repeat("x", 2332)); err == nil {
		t.Fatal("Lines of 2332 bytes: no error")
	}
	if _, err := Lines(strings.Repeat("x", 2331)); err != nil {
		t.Fatalf("Lines of 2331 bytes, the capacity at level M: %v", err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, strings.Repeat("x", 2332)); err == nil || buf.Len() != 0 {
		t.Fatalf("Write of 2332 bytes: %v, %d bytes printed", err, buf.Len())
	}
}

type failingWriter struct{}

var errDisk = errors.New("disk on fire")

func (failingWriter) Write([]byte) (int, error) { return 0, errDisk }

func TestWriteReturnsTheWritersError(t *testing.T) {
	if err := Write(failingWriter{}, "hello"); !errors.Is(err, errDisk) {
		t.Fatalf("Write: %v, want the writer's error", err)
	}
}
