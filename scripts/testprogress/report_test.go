package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The streams in testdata/streams were recorded from `go test -json` on
// the packages of testdata/sample (see its package docs), with the go
// this module builds with.

// replay feeds a recorded stream to a report line by line, each at the
// time of the last event seen, and returns what it printed and its exit
// status as if go test had exited with runErr.
func replay(t *testing.T, name string, slow time.Duration, runErr error) (string, int) {
	t.Helper()
	lines := streamLines(t, name)
	start := firstTime(t, lines)
	var out bytes.Buffer
	rep := newReport(&out, slow, "example.com/sample", start)
	now := start
	for _, l := range lines {
		if e, err := decodeEvent(l); err == nil && e.Time.After(now) {
			now = e.Time
		}
		rep.line(l, now)
	}
	code := rep.finish(now, runErr, nil)
	t.Logf("report of %s:\n%s", name, out.String())
	return out.String(), code
}

func streamLines(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/streams/" + name + ".jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Fatalf("%s: empty stream", name)
	}
	return lines
}

func firstTime(t *testing.T, lines [][]byte) time.Time {
	t.Helper()
	for _, l := range lines {
		if e, err := decodeEvent(l); err == nil && !e.Time.IsZero() {
			return e.Time
		}
	}
	t.Fatal("no event with a time")
	return time.Time{}
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("the report lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, out string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(out, u) {
			t.Errorf("the report shows %q", u)
		}
	}
}

func TestAPassingRunPrintsEachPackageItsSlowTestsAndExitsZero(t *testing.T) {
	out, code := replay(t, "pass", time.Second, nil)
	if code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	mustContain(t, out,
		"skip          notests (no tests)\n",
		"pass    1.2s  good TestSlow\n",
		"ok      1.2s  good\n",
		"ok   all 2 packages passed (1 without tests) in ",
	)
	// Quick tests and the output of passing ones are noise.
	mustNotContain(t, out, "TestQuick", "TestTable", "a log line nobody needs to see", "FAIL")
}

func TestATestUnderTheSlowMarkGetsNoLineOfItsOwn(t *testing.T) {
	out, _ := replay(t, "pass", 5*time.Second, nil)
	mustNotContain(t, out, "TestSlow")
	mustContain(t, out, "ok      1.2s  good\n")
}

func TestAFailedTestShowsItsWholeOutputAndNotThatOfPassingTests(t *testing.T) {
	out, code := replay(t, "fail", 5*time.Second, nil)
	if code == 0 {
		t.Error("exit status 0 after a failed test")
	}
	mustContain(t, out,
		"fail    0.0s  bad TestBroken\n", // failing tests get a line however quick
		"FAIL    0.1s  bad\n",
		"      | === RUN   TestBroken\n",
		"      |     bad_test.go:9: context before the failure\n",
		"      |     bad_test.go:10: got 1, want 2\n",
		"      | --- FAIL: TestBroken/inner (0.00s)\n",
		"FAIL 1 of 1 packages failed in ",
		"       bad TestBroken\n",
	)
	mustNotContain(t, out, "output of a passing test", "TestFine", "FAIL\texample.com")
	// The output comes with the test's line, not when its package ends,
	// which for a package of process tests can be minutes later.
	if test, output, pkg := strings.Index(out, "bad TestBroken\n"), strings.Index(out, "got 1, want 2"), strings.Index(out, "FAIL    0.1s  bad\n"); !(test < output && output < pkg) {
		t.Errorf("the failing test's output is not between its line and its package's")
	}
	if n := strings.Count(out, "got 1, want 2"); n != 1 {
		t.Errorf("the failure is shown %d times, want once", n)
	}
}

func TestBuildAndVetFailuresShowTheirMessages(t *testing.T) {
	out, code := replay(t, "build", 5*time.Second, nil)
	if code == 0 {
		t.Error("exit status 0 after failed builds")
	}
	mustContain(t, out,
		"broken: build failed\n",
		`broken/broken.go:5:23: cannot use "not an int" (untyped string constant) as int value in return statement`,
		"broken [build failed]\n",
		"vetbad: build failed\n",
		`vetbad/vetbad_test.go:9:50: fmt.Sprintf format %d has arg "x" of wrong type string`,
		"vetbad [build failed]\n",
		"FAIL 2 of 2 packages failed in ",
	)
}

func TestAPanicShowsTheTestsOutputAndTheTrace(t *testing.T) {
	out, code := replay(t, "panic", 5*time.Second, nil)
	if code == 0 {
		t.Error("exit status 0 after a panic")
	}
	mustContain(t, out,
		"fail    0.0s  panics TestPanics\n",
		"      |     panics_test.go:9: about to panic\n",
		"      | panic: assignment to entry in nil map",
		"panics.TestPanics(",
		"       panics TestPanics\n",
	)
	mustNotContain(t, out, "TestOK")
}

func TestATimeoutShowsTheDumpAndNamesTheTestThatDidNotEnd(t *testing.T) {
	out, code := replay(t, "timeout", 5*time.Second, nil)
	if code == 0 {
		t.Error("exit status 0 after a timeout")
	}
	mustContain(t, out,
		"      |     hangs_test.go:10: waiting forever\n",
		"      | panic: test timed out after 2s\n",
		"hangs.TestHangs(",
		"       hangs TestHangs (did not end)\n",
	)
}

func TestATestMainThatGivesUpShowsWhatItSaid(t *testing.T) {
	out, code := replay(t, "exits", 5*time.Second, nil)
	if code == 0 {
		t.Error("exit status 0 after a failed test binary")
	}
	mustContain(t, out, "      | setup failed: no fixture\n", "       exits\n")
}

func TestGoTestsExitStatusIsKept(t *testing.T) {
	err := exec.Command("sh", "-c", "exit 3").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("sh -c 'exit 3': %v", err)
	}
	if _, code := replay(t, "fail", 5*time.Second, err); code != 3 {
		t.Errorf("exit status %d, want go test's 3", code)
	}
	// go test failed with every package passing (a vet or setup error
	// on its stderr): still a failure.
	out, code := replay(t, "pass", 5*time.Second, errors.New("exit status 1"))
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	mustContain(t, out, "FAIL go test: exit status 1\n")
}

func TestAStreamCutOffMidPackageFailsAndShowsWhatCame(t *testing.T) {
	lines := streamLines(t, "timeout")
	start := firstTime(t, lines)
	var out bytes.Buffer
	rep := newReport(&out, 5*time.Second, "example.com/sample", start)
	for _, l := range lines[:4] { // start, run, =RUN, the log line
		rep.line(l, start)
	}
	if code := rep.finish(start.Add(time.Minute), nil, nil); code == 0 {
		t.Error("exit status 0 although a package never finished")
	}
	t.Logf("report:\n%s", out.String())
	mustContain(t, out.String(), "hangs did not finish\n", "      |     hangs_test.go:10: waiting forever\n",
		"       hangs (did not finish)\n")
}

func TestLinesThatAreNotEventsArePrintedAsTheyAre(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	rep := newReport(&out, 5*time.Second, "", start)
	rep.line([]byte("go: downloading example.com/x v1.0.0\n"), start)
	rep.line([]byte(`{"Output":"no action"}`+"\n"), start)
	if got, want := out.String(), " 0:00 go: downloading example.com/x v1.0.0\n 0:00 {\"Output\":\"no action\"}\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHeartbeatNamesRunningPackagesAndTheirLongestTests(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var out bytes.Buffer
	rep := newReport(&out, 5*time.Second, "example.com/m", start)
	rep.heartbeat(start.Add(20 * time.Second))
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	for _, e := range []event{
		{Time: at(21), Action: "start", Package: "example.com/m/cmd/qpc"},
		{Time: at(22), Action: "run", Package: "example.com/m/cmd/qpc", Test: "TestA"},
		{Time: at(23), Action: "run", Package: "example.com/m/cmd/qpc", Test: "TestB"},
		{Time: at(23), Action: "run", Package: "example.com/m/cmd/qpc", Test: "TestB/sub"},
		{Time: at(24), Action: "run", Package: "example.com/m/cmd/qpc", Test: "TestC"},
		{Time: at(25), Action: "run", Package: "example.com/m/cmd/qpc", Test: "TestD"},
		{Time: at(26), Action: "run", Package: "example.com/m/cmd/qpc", Test: "TestE"},
		{Time: at(26), Action: "pause", Package: "example.com/m/cmd/qpc", Test: "TestE"},
		{Time: at(27), Action: "run", Package: "example.com/m/cmd/qpc", Test: "TestF"},
		{Time: at(27), Action: "pause", Package: "example.com/m/cmd/qpc", Test: "TestF"},
		{Time: at(28), Action: "pass", Package: "example.com/m/cmd/qpc", Test: "TestC", Elapsed: 4},
		{Time: at(29), Action: "start", Package: "example.com/m/version"},
		{Time: at(29), Action: "skip", Package: "example.com/m/version"},
		{Time: at(30), Action: "start", Package: "example.com/m/app"},
		{Time: at(31), Action: "run", Package: "example.com/m/app", Test: "TestX"},
		{Time: at(32), Action: "cont", Package: "example.com/m/cmd/qpc", Test: "TestF"},
	} {
		rep.event(e, e.Time)
	}
	rep.heartbeat(at(40))
	want := " 0:20 ...  building test binaries; packages done: 0\n" +
		" 0:29 skip          version (no tests)\n" +
		" 0:40 ...  running: cmd/qpc 19.0s (TestA 18.0s, TestB 17.0s, TestD 15.0s, 1 more, 1 waiting to run in parallel); app 10.0s (TestX 9.0s); packages done: 1\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestHeartbeatDuringARecordedRunNamesTheTestThatRuns(t *testing.T) {
	lines := streamLines(t, "pass")
	start := firstTime(t, lines)
	var out bytes.Buffer
	rep := newReport(&out, 5*time.Second, "example.com/sample", start)
	for _, l := range lines {
		e, err := decodeEvent(l)
		if err != nil {
			t.Fatal(err)
		}
		if e.Action == "pass" && e.Test == "TestSlow" {
			rep.heartbeat(e.Time)
			break
		}
		rep.line(l, e.Time)
	}
	mustContain(t, out.String(), "...  running: good ", "(TestSlow 1.2s); packages done: 1\n")
}

func TestTimesAreWrittenForPeople(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0s"},
		{1234 * time.Millisecond, "1.2s"},
		{59900 * time.Millisecond, "59.9s"},
		{61 * time.Second, "1m01s"},
		{185 * time.Second, "3m05s"},
	} {
		if got := fmtSeconds(tc.d); got != tc.want {
			t.Errorf("fmtSeconds(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestPackagesAreNamedWithoutTheModulesPath(t *testing.T) {
	r := newReport(new(strings.Builder), 5*time.Second, "example.org/m", time.Unix(0, 0))
	for pkg, want := range map[string]string{
		"example.org/m":      ".",
		"example.org/m/a/b":  "a/b",
		"example.org/mother": "example.org/mother",
		"other.org/x":        "other.org/x",
	} {
		if got := r.short(pkg); got != want {
			t.Errorf("short(%q) = %q, want %q", pkg, got, want)
		}
	}
}
