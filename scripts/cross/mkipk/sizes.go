package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The flash budgets of issue 25 (DESIGN §8): a router with 8 MB of flash
// keeps the firmware and the package; the compressing overlay file systems
// (JFFS2, UBIFS) store the binary in about the size of its package.
const (
	// binaryBudget bounds the stripped mips binary, the router build
	// that the most common small routers (ath79, 24Kc) run.
	binaryBudget = 8 << 20
	// binaryGoal is where the binary should get to.
	binaryGoal = 7 << 20
	// budgetTarget is the build target whose binary binaryBudget bounds.
	budgetTarget = "mips"
	// packageBudget bounds every router package (.ipk, .apk).
	packageBudget = 3 << 20
)

// The ceilings make test holds the router build to until it fits the
// budgets (issue 25 is open: the mips binary is 11.0 MB), so that the
// build cannot grow unseen again (it grew 20 % past its budget before a
// test looked). The binary's ceiling is its size (11,010,241 bytes) plus
// one 64 KiB step: the stripped file grows in steps of the segment
// alignment, so a few bytes of code can cost a whole step (the pushes
// handed off from the commit, issue 26, took it from 11,075,777 to
// 11,206,849 with 6 KB of code). The packages' ceiling is the largest
// package (x86_64, 3,997,015 bytes) plus 64 KiB. Every cut lowers them
// to what it reached; when the budgets are met, they are the budgets.
// `make floor` measures what the design's mandated parts alone cost
// (8,126,657 bytes for mips): the room under binaryBudget that qpc's own
// code has.
//
// Raised three times, on purpose: the key transparency log (issue 23: the log,
// its proofs and the gossip watch, which the node must carry) took the
// mips binary from 11,010,241 to 11,206,849 bytes (three steps, ~168 KB of
// code) and the largest package (x86_64 .apk) to 4,063,597. The node's
// file store (issue 28: node/blob, its RPCs and federation proxy, and
// their generated schema code) took the binary to 11,403,457; then the
// early Finish of chunk answers that bounds the node's memory (issue 28,
// transport/finish.go), one write per Cap'n Proto frame (issue 26,
// transport/framecodec.go), the account's alarms in `qpc status` (issue
// 23) and --login-rate to 11,534,529 (two steps) and the largest package
// (x86_64 .apk) to 4,135,472. The admin socket and `qpc admin` (issue 27)
// took them to 11,993,281 and 4,287,639: seven steps, of which rsc.io/qr is
// three (its coding.Encoding interface's Check method kept
// store.(*Store).Check and its checks linked); reading the answers with
// internal/jsontree instead of encoding/json saved one. The password change
// and logout (issue 27) and the report key (issue 30) took one step more,
// won back by renaming store.(*Store).Check to CheckIntegrity, which no
// interface of the router build names: 12,058,817, at the ceiling.
const (
	binaryCeiling  = 11_993_281 + 64<<10
	packageCeiling = 4_287_639 + 64<<10
)

// limits are a binary bound for the budget target and a bound for every
// package.
type limits struct{ binary, pkg int64 }

var (
	budgets  = limits{binary: binaryBudget, pkg: packageBudget}
	ceilings = limits{binary: binaryCeiling, pkg: packageCeiling}
)

// ErrOverBudget is what overBudget's errors wrap.
var ErrOverBudget = errors.New("over the flash budget")

// overBudget returns one error per package over l.pkg and one for the
// budget target's binary over l.binary.
func overBudget(pkgs []built, l limits) []error {
	var errs []error
	binDone := false
	for _, p := range pkgs {
		if p.size > l.pkg {
			errs = append(errs, fmt.Errorf("%s%s: package is %d bytes, %w of %d (%s)", p.arch, formatSuffix(p), p.size, ErrOverBudget, l.pkg, mib(l.pkg)))
		}
		if p.target == budgetTarget && !binDone {
			binDone = true
			if p.binSize > l.binary {
				errs = append(errs, fmt.Errorf("%s binary is %d bytes, %w of %d (%s)", p.target, p.binSize, ErrOverBudget, l.binary, mib(l.binary)))
			}
		}
	}
	return errs
}

// formatSuffix names a package's format after its architecture.
func formatSuffix(p built) string {
	if p.format == "" {
		return ""
	}
	return " ." + p.format
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// group writes n with thousands separators, as the docs do.
func group(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// sizeTable is the Markdown table of the packages and their binaries,
// with the share of each budget used.
func sizeTable(pkgs []built) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| architecture | build target | format | stripped binary (bytes) | package (bytes) | of the %s package budget |\n", mib(packageBudget))
	b.WriteString("|---|---|---|---:|---:|---:|\n")
	for _, p := range pkgs {
		if p.arch == "all" { // luci-app-qpc: no binary
			fmt.Fprintf(&b, "| `all` (luci-app-qpc) | - | .%s | - | %s | %.0f %% |\n", p.format, group(p.size), 100*float64(p.size)/packageBudget)
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %s | .%s | %s | %s | %.0f %% |\n", p.arch, p.target, p.format, group(p.binSize), group(p.size), 100*float64(p.size)/packageBudget)
	}
	return b.String()
}

// The markers between which writeSizeTable writes.
const (
	sizesBegin = "<!-- sizes: generated by `make size`; do not edit -->\n"
	sizesEnd   = "<!-- /sizes -->\n"
)

// ErrNoMarkers is returned for a file without the size markers.
var ErrNoMarkers = errors.New("no size markers")

// writeSizeTable replaces what lies between the size markers of the
// Markdown file at path with the table of pkgs.
func writeSizeTable(path string, pkgs []built) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := replaceSizeTable(doc, sizeTable(pkgs))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// replaceSizeTable returns doc with table between its size markers.
func replaceSizeTable(doc []byte, table string) ([]byte, error) {
	i := bytes.Index(doc, []byte(sizesBegin))
	if i < 0 {
		return nil, fmt.Errorf("%w: want a line %q", ErrNoMarkers, strings.TrimSpace(sizesBegin))
	}
	start := i + len(sizesBegin)
	j := bytes.Index(doc[start:], []byte(sizesEnd))
	if j < 0 {
		return nil, fmt.Errorf("%w: want a line %q after the first", ErrNoMarkers, strings.TrimSpace(sizesEnd))
	}
	var out bytes.Buffer
	out.Write(doc[:start])
	out.WriteString(table)
	out.Write(doc[start+j:])
	return out.Bytes(), nil
}
