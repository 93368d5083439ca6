package main

import (
	"cmp"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// report follows one go test run event by event and writes its progress.
// It is not safe for concurrent use: main feeds it lines and heartbeats
// from one goroutine, so that nothing it prints interleaves.
type report struct {
	out     io.Writer
	slow    time.Duration // a top-level test at least this long gets a line
	module  string        // stripped from package names, with its slash
	started time.Time

	running map[string]*pkgRun  // by package, from start to its end
	builds  map[string][]string // build output by ImportPath, until build-fail

	passed, skipped int      // packages
	failed          []string // packages and top-level tests, for the summary
	failedPkgs      int
}

// pkgRun is a package whose test binary runs.
type pkgRun struct {
	name   string
	since  time.Time
	output []outLine // all of it: what is shown on a failure is known at the end
	tests  map[string]*testRun
	shown  map[string]bool // failed top-level tests whose output was printed
}

// outLine is a line of a test binary's output and the test it is
// attributed to ("" for the package's own).
type outLine struct {
	test, text string
}

// testRun is a test that started. A parallel test is paused until the
// serial ones end; its time runs from when it continues.
type testRun struct {
	since  time.Time
	paused bool
	result string // "", then pass, fail or skip
}

// newReport returns a report that writes to out. module (may be empty) is
// the module's path, which package names are shown without.
func newReport(out io.Writer, slow time.Duration, module string, now time.Time) *report {
	if module != "" {
		module += "/"
	}
	return &report{out: out, slow: slow, module: module, started: now,
		running: map[string]*pkgRun{}, builds: map[string][]string{}}
}

// line takes one line of go test's stdout.
func (r *report) line(b []byte, now time.Time) {
	e, err := decodeEvent(b)
	if err != nil {
		// Not an event: go test's own words, shown as they are.
		r.printf(now, "%s", strings.TrimRight(string(b), "\n"))
		return
	}
	r.event(e, now)
}

// event takes one decoded event; now stands in for a missing Time.
func (r *report) event(e event, now time.Time) {
	at := e.Time
	if at.IsZero() {
		at = now
	}
	switch e.Action {
	case "build-output":
		r.builds[e.ImportPath] = append(r.builds[e.ImportPath], e.Output)
		return
	case "build-fail":
		r.printf(now, "FAIL %7s  %s: build failed", "", r.short(buildTarget(e.ImportPath)))
		r.block(r.builds[e.ImportPath])
		delete(r.builds, e.ImportPath)
		return
	}
	p := r.running[e.Package]
	if p == nil {
		// Normally made by "start"; an older go has none.
		p = &pkgRun{name: e.Package, since: at, tests: map[string]*testRun{}, shown: map[string]bool{}}
		r.running[e.Package] = p
	}
	switch {
	case e.Action == "output":
		p.output = append(p.output, outLine{test: e.Test, text: e.Output})
	case e.Test == "":
		if e.Action == "pass" || e.Action == "fail" || e.Action == "skip" {
			r.endPackage(p, e, now)
		}
	case e.Action == "run":
		p.tests[e.Test] = &testRun{since: at}
	case e.Action == "pause" || e.Action == "cont":
		if t := p.tests[e.Test]; t != nil {
			t.paused = e.Action == "pause"
			t.since = at
		}
	case e.Action == "pass" || e.Action == "fail" || e.Action == "skip":
		r.endTest(p, e, at, now)
	}
}

// endTest notes a test's result, and prints a line for a long top-level
// test, and for a failed one the line and its output at once: the package
// may run for minutes more.
func (r *report) endTest(p *pkgRun, e event, at, now time.Time) {
	t := p.tests[e.Test]
	if t == nil {
		t = &testRun{since: at}
		p.tests[e.Test] = t
	}
	t.result = e.Action
	if strings.Contains(e.Test, "/") {
		return
	}
	took := seconds(e.Elapsed)
	if took >= r.slow || e.Action == "fail" {
		r.printf(now, "%-4s %7s  %s %s", e.Action, fmtSeconds(took), r.short(p.name), e.Test)
	}
	if e.Action == "fail" {
		r.failed = append(r.failed, r.short(p.name)+" "+e.Test)
		r.block(p.testOutput(e.Test))
		p.shown[e.Test] = true
	}
}

// testOutput returns the output of top-level test name and its subtests.
func (p *pkgRun) testOutput(name string) []string {
	var lines []string
	for _, l := range p.output {
		if topLevel(l.test) == name {
			lines = append(lines, l.text)
		}
	}
	return lines
}

// topLevel is the top-level test of test, which may be a subtest.
func topLevel(test string) string {
	name, _, _ := strings.Cut(test, "/")
	return name
}

// endPackage prints a package's result, and on a failure what explains
// it.
func (r *report) endPackage(p *pkgRun, e event, now time.Time) {
	delete(r.running, p.name)
	name := r.short(p.name)
	switch e.Action {
	case "pass":
		r.passed++
		r.printf(now, "ok   %7s  %s", fmtSeconds(seconds(e.Elapsed)), name)
	case "skip":
		r.skipped++
		r.printf(now, "skip %7s  %s (no tests)", "", name)
	case "fail":
		r.failedPkgs++
		if e.FailedBuild != "" {
			// The build's own message came with its build-fail.
			why := "[build failed]"
			if dep := buildTarget(e.FailedBuild); dep != p.name {
				why = "[build of " + r.short(dep) + " failed]"
			}
			r.printf(now, "FAIL %7s  %s %s", "", name, why)
			r.failed = append(r.failed, name+" "+why)
			return
		}
		r.printf(now, "FAIL %7s  %s", fmtSeconds(seconds(e.Elapsed)), name)
		if lines := p.explain(); len(lines) > 0 || len(p.shown) == 0 {
			r.block(lines)
		}
		// Tests cut off by a panic elsewhere or by the timeout.
		var unended []string
		for test, t := range p.tests {
			if t.result == "" && !strings.Contains(test, "/") {
				unended = append(unended, name+" "+test+" (did not end)")
			}
		}
		slices.Sort(unended)
		r.failed = append(r.failed, unended...)
		if !slices.ContainsFunc(r.failed, func(f string) bool { return strings.HasPrefix(f, name+" ") }) {
			r.failed = append(r.failed, name) // no test failed: the binary did
		}
	}
}

// buildTarget is the package of a build's ImportPath, which for a test
// binary reads "pkg [pkg.test]".
func buildTarget(importPath string) string {
	pkg, _, _ := strings.Cut(importPath, " ")
	return pkg
}

// explain returns the output that tells why p failed and was not shown
// with a failed test: its own lines (a panic outside a test, TestMain's
// words) and those of every test that did not end (a timeout's dump is
// the running test's), in the order they came.
func (p *pkgRun) explain() []string {
	var lines []string
	for _, l := range p.output {
		if l.test == "" && isPackageSummary(l.text) {
			continue // says again what the FAIL line says
		}
		if p.shown[topLevel(l.test)] {
			continue
		}
		if t := p.tests[l.test]; l.test != "" && t != nil && (t.result == "pass" || t.result == "skip") {
			continue
		}
		lines = append(lines, l.text)
	}
	return lines
}

// isPackageSummary reports whether text is one of the lines a test binary
// and go test end a package with.
func isPackageSummary(text string) bool {
	text = strings.TrimRight(text, "\n")
	return text == "PASS" || text == "FAIL" || strings.HasPrefix(text, "ok  \t") || strings.HasPrefix(text, "FAIL\t")
}

// heartbeat prints what still runs: each package with its time and its
// longest running tests, and how many packages are done.
func (r *report) heartbeat(now time.Time) {
	done := r.passed + r.skipped + r.failedPkgs
	if len(r.running) == 0 {
		r.printf(now, "...  building test binaries; packages done: %d", done)
		return
	}
	pkgs := make([]*pkgRun, 0, len(r.running))
	for _, p := range r.running {
		pkgs = append(pkgs, p)
	}
	slices.SortFunc(pkgs, func(a, b *pkgRun) int { return a.since.Compare(b.since) })
	var parts []string
	for _, p := range pkgs {
		parts = append(parts, fmt.Sprintf("%s %s%s", r.short(p.name), fmtSeconds(now.Sub(p.since)), p.runningTests(now)))
	}
	r.printf(now, "...  running: %s; packages done: %d", strings.Join(parts, "; "), done)
}

// longestShown is how many running tests a heartbeat names per package.
const longestShown = 3

// runningTests describes p's top-level tests that run now, longest first.
func (p *pkgRun) runningTests(now time.Time) string {
	type running struct {
		name string
		took time.Duration
	}
	var active []running
	waiting := 0
	for name, t := range p.tests {
		if t.result != "" || strings.Contains(name, "/") {
			continue
		}
		if t.paused {
			waiting++
			continue
		}
		active = append(active, running{name, now.Sub(t.since)})
	}
	if len(active) == 0 && waiting == 0 {
		return ""
	}
	slices.SortFunc(active, func(a, b running) int {
		if c := cmp.Compare(b.took, a.took); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var names []string
	for i, a := range active {
		if i == longestShown {
			names = append(names, fmt.Sprintf("%d more", len(active)-longestShown))
			break
		}
		names = append(names, a.name+" "+fmtSeconds(a.took))
	}
	if waiting > 0 {
		names = append(names, fmt.Sprintf("%d waiting to run in parallel", waiting))
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// finish prints what never ended and the summary, and returns the exit
// status: go test's when it failed, else 1 on any failure seen, else 0.
// runErr is go test's exit; readErr a failure to read its output.
func (r *report) finish(now time.Time, runErr, readErr error) int {
	// A package still running when the stream ended: go test was killed,
	// or its output cut. What it printed is all there is to go on.
	var cut []string
	for name := range r.running {
		cut = append(cut, name)
	}
	slices.Sort(cut)
	for _, name := range cut {
		p := r.running[name]
		r.printf(now, "FAIL %7s  %s did not finish", fmtSeconds(now.Sub(p.since)), r.short(name))
		r.block(p.explain())
		r.failed = append(r.failed, r.short(name)+" (did not finish)")
		r.failedPkgs++
	}
	if readErr != nil {
		r.printf(now, "FAIL reading go test's output: %v", readErr)
	}
	took := now.Sub(r.started).Round(time.Second)
	code := 0
	switch {
	case runErr != nil:
		code = 1
		if ee, ok := runErr.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			code = ee.ExitCode()
		}
	case len(r.failed) > 0 || r.failedPkgs > 0 || readErr != nil:
		code = 1
	}
	if code == 0 {
		r.printf(now, "ok   all %d packages passed (%d without tests) in %s", r.passed+r.skipped, r.skipped, took)
		return 0
	}
	r.printf(now, "FAIL %d of %d packages failed in %s", r.failedPkgs, r.passed+r.skipped+r.failedPkgs, took)
	for _, f := range r.failed {
		fmt.Fprintf(r.out, "       %s\n", f)
	}
	if runErr != nil && len(r.failed) == 0 {
		r.printf(now, "FAIL go test: %v", runErr)
	}
	return code
}

// printf writes one line, after the time since the start.
func (r *report) printf(now time.Time, format string, args ...any) {
	d := now.Sub(r.started).Round(time.Second)
	fmt.Fprintf(r.out, "%2d:%02d %s\n", int(d.Minutes()), int(d.Seconds())%60, fmt.Sprintf(format, args...))
}

// block writes lines of output, indented, so that they stand apart from
// the progress lines around them.
func (r *report) block(lines []string) {
	if len(lines) == 0 {
		fmt.Fprintln(r.out, "      | (no output)")
		return
	}
	for _, l := range lines {
		fmt.Fprintf(r.out, "      | %s\n", strings.TrimRight(l, "\n"))
	}
}

// short is a package's name without the module's path.
func (r *report) short(pkg string) string {
	if r.module != "" && pkg == strings.TrimSuffix(r.module, "/") {
		return "." // the module's root package
	}
	if s, ok := strings.CutPrefix(pkg, r.module); ok && s != "" {
		return s
	}
	return pkg
}

// seconds converts an event's Elapsed.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// fmtSeconds writes d as 12.3s, or 4m05s from a minute on.
func fmtSeconds(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
