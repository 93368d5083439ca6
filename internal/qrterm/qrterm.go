// Package qrterm prints QR codes on a text terminal, so that a phone can
// scan a channel's share string (or anything else short) off the screen of
// `qpc` running over SSH.
//
// Each character cell shows two modules, one above the other, with the
// Unicode half blocks "▀" (upper), "▄" (lower), "█" (both) and a space
// (neither): a code of n modules is about n columns wide and n/2 lines
// tall, so that the modules come out roughly square in the usual 1:2
// cells. The code is encoded with rsc.io/qr at error correction level M
// (about 15% of it can be lost), the usual compromise between size and a
// smudged or reflecting screen.
//
// # Which modules are drawn
//
// Light modules, and the 4-module quiet zone around the code, are drawn as
// blocks in the terminal's foreground colour; dark modules are left as
// spaces, showing the terminal's background. On a dark terminal (light text
// on a dark background: the default of most terminal emulators and SSH
// clients) that gives dark modules on a light field, the polarity the QR
// standard specifies and every scanner reads. Drawing the dark modules as
// blocks instead would give a light-on-dark ("inverted") code there, which
// some scanner apps refuse. On a light terminal the output is the inverted
// code; scanners that handle inversion read it, others need a dark terminal.
//
// The last line holds only one row of modules (a code with its quiet zone
// is an odd number of modules tall); its lower halves are background.
package qrterm

import (
	"fmt"
	"io"
	"strings"

	"rsc.io/qr"
)

// quietZone is the light border around the code, in modules: 4, as the QR
// standard requires; scanners struggle to find a code without it.
const quietZone = 4

// Lines returns text as a QR code in half-block characters, one string per
// terminal line, top to bottom, without line breaks. It fails when text
// does not fit in the largest QR code (2331 bytes of arbitrary text at
// level M).
func Lines(text string) ([]string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, fmt.Errorf("qrterm: %d bytes of text: %w", len(text), err)
	}
	n := code.Size + 2*quietZone
	// light reports whether the module at (x, y), counted from the outer
	// corner of the quiet zone, is drawn. Black is false outside the code,
	// so the quiet zone is light; below the last row is background.
	light := func(x, y int) bool {
		return y < n && !code.Black(x-quietZone, y-quietZone)
	}
	lines := make([]string, 0, (n+1)/2)
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		b.Reset()
		for x := range n {
			switch top, bottom := light(x, y), light(x, y+1); {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		lines = append(lines, b.String())
	}
	return lines, nil
}

// Write prints text as a QR code to w, as Lines draws it, each line ended
// by "\n".
func Write(w io.Writer, text string) error {
	lines, err := Lines(text)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, strings.Join(lines, "\n")+"\n"); err != nil {
		return fmt.Errorf("qrterm: %w", err)
	}
	return nil
}
