package qrterm

import (
	"fmt"
	"strings"

	"rsc.io/qr"
)

// SVG returns text as a QR code in SVG, for a web page (LuCI's invite
// page shows the one `qpc admin invite --json` prints). Dark modules are
// black squares on a white field with the 4-module quiet zone, one path,
// scaled by the viewBox, so that it stays small and sharp at any size.
func SVG(text string) (string, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("qrterm: %d bytes of text: %w", len(text), err)
	}
	n := code.Size + 2*quietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quietZone, y+quietZone)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
