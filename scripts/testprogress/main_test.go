package main

import (
	"bytes"
	"os/exec"
	"testing"
)

// These run the real go test on the packages of testdata/sample, a module
// of its own, through run: what make test does, on a small scale.

func needGo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("go not on PATH: %v", err) // go test itself runs this, so go is there
	}
}

func TestRunShowsARealPassingRunAsItGoesAndExitsZero(t *testing.T) {
	needGo(t)
	var out, errb bytes.Buffer
	// A heartbeat shorter than good's 1.2 s TestSlow: one falls while it
	// runs, because the events arrive as the tests end, not at the end.
	code := run([]string{"-C", "testdata/sample", "-slow", "1s", "-heartbeat", "300ms", "--",
		"-count=1", "./good", "./notests"}, &out, &errb)
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	if code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	mustContain(t, out.String(), "ok ", "  good\n", "skip ", "notests (no tests)\n",
		"pass ", "good TestSlow\n", "...  running: good ", "TestSlow", "ok   all 2 packages passed (1 without tests) in ")
}

func TestRunFailsOnAFailedTestAndOnAFailedBuild(t *testing.T) {
	needGo(t)
	for _, tc := range []struct {
		name  string
		pkgs  []string
		wants []string
	}{
		{"a failed test", []string{"./bad", "./good"}, []string{"      |     bad_test.go:10: got 1, want 2\n", "       bad TestBroken\n"}},
		{"a build that does not compile", []string{"./broken"}, []string{"broken: build failed\n", `cannot use "not an int"`}},
		{"a vet failure", []string{"./vetbad"}, []string{"vetbad: build failed\n", "fmt.Sprintf format %d has arg"}},
		{"a panic", []string{"./panics"}, []string{"      | panic: assignment to entry in nil map"}},
		{"a timeout", []string{"-timeout", "1s", "./hangs"}, []string{"      | panic: test timed out after 1s\n", "       hangs TestHangs (did not end)\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"-C", "testdata/sample", "--", "-count=1"}, tc.pkgs...), &out, &errb)
			t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
			if code == 0 {
				t.Error("exit status 0")
			}
			mustContain(t, out.String(), tc.wants...)
		})
	}
}

func TestRunRefusesFlagsItDoesNotKnow(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-count=1", "./..."}, &out, &errb); code != 2 {
		t.Errorf("exit status %d, want 2 (go test's flags go after --)", code)
	}
	if code := run([]string{"-heartbeat", "0s", "--", "./..."}, &out, &errb); code != 2 {
		t.Errorf("exit status %d for a heartbeat of 0, want 2", code)
	}
}
