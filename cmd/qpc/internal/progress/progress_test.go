package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLineShowsPercentRateAndTimeLeft(t *testing.T) {
	got := Line(10<<20, 20<<20, 2<<20, 5*time.Second, true)
	for _, want := range []string{"[###############...............]", " 50%", "10.0 MiB/20.0 MiB", "2.0 MiB/s", "5s left"} {
		if !strings.Contains(got, want) {
			t.Errorf("Line = %q, lacks %q", got, want)
		}
	}
	if got := Line(20<<20, 20<<20, 0, time.Second, true); strings.Contains(got, "left") || !strings.Contains(got, "100%") {
		t.Errorf("a finished line: %q", got)
	}
	if got := Line(3, 10, 0, 0, false); !strings.HasSuffix(got, " 3/10") {
		t.Errorf("items: %q", got)
	}
}

func TestAPlainBarWritesALineNowAndThenAndTheLast(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, "job:", true)
	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }
	for i := int64(0); i <= 100; i++ {
		b.Update(i, 100, 0, 0)
		now = now.Add(100 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// Ten seconds of updates, a line every two seconds, and the last.
	if len(lines) < 5 || len(lines) > 7 || !strings.Contains(lines[len(lines)-1], "100%") {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("a bar that is not on a terminal redraws in place")
	}
}
