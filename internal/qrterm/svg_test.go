package qrterm

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"rsc.io/qr"
)

// TestSVGDrawsEveryDarkModuleAndNothingElse reads the squares of the SVG
// path back and compares them with the code rsc.io/qr makes, module by
// module, quiet zone included.
func TestSVGDrawsEveryDarkModuleAndNothingElse(t *testing.T) {
	text := "abcde-fghij-klmno-pqrst"
	svg, err := SVG(text)
	if err != nil {
		t.Fatal(err)
	}
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	n := code.Size + 2*quietZone
	if !strings.HasPrefix(svg, fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d"`, n, n)) {
		t.Fatalf("svg head: %.120s", svg)
	}
	drawn := map[[2]int]bool{}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`).FindAllStringSubmatch(svg, -1) {
		var x, y int
		fmt.Sscan(m[1], &x)
		fmt.Sscan(m[2], &y)
		drawn[[2]int{x, y}] = true
	}
	for y := range n {
		for x := range n {
			want := code.Black(x-quietZone, y-quietZone)
			if drawn[[2]int{x, y}] != want {
				t.Fatalf("module (%d, %d): drawn %v, want %v", x, y, drawn[[2]int{x, y}], want)
			}
		}
	}
	if _, err := SVG(strings.Repeat("x", 3000)); err == nil {
		t.Fatal("3000 bytes made a QR code")
	}
}
