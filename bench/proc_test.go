package bench

import (
	"errors"
	"os"
	"testing"
)

func TestAStatLineGivesUserPlusSystemTime(t *testing.T) {
	// A command name with spaces and a parenthesis, as /proc allows.
	line := []byte("1234 (qpc (node) x) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 37 0 0 20 0 9 0 100 0 0\n")
	got, err := parseStatCPU(line)
	if err != nil || got != 287*clockTick {
		t.Errorf("parseStatCPU = %v, %v; want %v", got, err, 287*clockTick)
	}
	for name, bad := range map[string]string{
		"no command":    "1234 qpc S 1",
		"too short":     "1234 (qpc) S 1 2 3",
		"not a number":  "1234 (qpc) S 1 1234 1234 0 -1 4194560 500 0 0 0 x 37 0",
		"negative time": "1234 (qpc) S 1 1234 1234 0 -1 4194560 500 0 0 0 -5 37 0",
		"too long":      "1234 (qpc) S 1 1234 1234 0 -1 4194560 500 0 0 0 9223372036854775807 37 0",
	} {
		if _, err := parseStatCPU([]byte(bad)); !errors.Is(err, errBadStat) {
			t.Errorf("%s: %v, want errBadStat", name, err)
		}
	}
}

func TestStatusLinesGiveBytes(t *testing.T) {
	status := []byte("Name:\tqpc\nVmHWM:\t   20480 kB\nVmRSS:\t   15360 kB\nRssAnon:\t    2048 kB\n")
	if got := parseStatusKB(status, "VmRSS:"); got != 15<<20 {
		t.Errorf("VmRSS = %d", got)
	}
	if got := parseStatusKB(status, "RssAnon:"); got != 2<<20 {
		t.Errorf("RssAnon = %d", got)
	}
	if got := parseStatusKB(status, "VmSwap:"); got != 0 {
		t.Errorf("a missing key = %d, want 0", got)
	}
}

func TestThisProcessCanBeRead(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system: the bench reads a node's costs on Linux only")
	}
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.RSSAnon <= 0 || s.HWM < s.RSS || s.CPU < 0 {
		t.Errorf("sample %+v", s)
	}
	if _, err := ReadProc(-1); !errors.Is(err, ErrNoProc) {
		t.Errorf("a process that does not exist: %v, want ErrNoProc", err)
	}
}

func TestCommitCountersAreFoundInMetricsText(t *testing.T) {
	text := "# HELP x\nqpc_store_commit_duration_seconds_bucket{le=\"0.001\"} 3\n" +
		"qpc_store_commit_duration_seconds_sum 0.048\nqpc_store_commit_duration_seconds_count 12\nqpc_store_committed_messages_total 960\n"
	c, err := parseCommits(text)
	if err != nil || c != (CommitCounts{Commits: 12, Messages: 960, Seconds: 0.048}) {
		t.Errorf("parseCommits = %+v, %v", c, err)
	}
	if _, err := parseCommits("go_goroutines 7\n"); !errors.Is(err, ErrMetrics) {
		t.Errorf("text without the counters: %v, want ErrMetrics", err)
	}
	if _, err := parseCommits("qpc_store_commit_duration_seconds_sum 1\nqpc_store_commit_duration_seconds_count many\nqpc_store_committed_messages_total 1\n"); !errors.Is(err, ErrMetrics) {
		t.Errorf("a counter that is no number: %v, want ErrMetrics", err)
	}
	if _, err := parseCommits("qpc_store_commit_duration_seconds_count 12\nqpc_store_committed_messages_total 960\n"); !errors.Is(err, ErrMetrics) {
		t.Errorf("text without the commits' time: %v, want ErrMetrics", err)
	}
}

func FuzzParseStatCPU(f *testing.F) {
	f.Add([]byte("1 (qpc) S 1 1 1 0 -1 0 0 0 0 0 250 37 0 0 20 0 9 0 100 0 0"))
	f.Add([]byte("1 (a) b) S"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if d, err := parseStatCPU(in); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v from %q", d, in)
		}
	})
}

func FuzzParseCommits(f *testing.F) {
	f.Add("qpc_store_commit_duration_seconds_sum 0.5\nqpc_store_commit_duration_seconds_count 12\nqpc_store_committed_messages_total 960\n")
	f.Add("qpc_store_committed_messages_total NaN\n")
	f.Fuzz(func(t *testing.T, in string) {
		parseCommits(in) // must not panic
		parseStatusKB([]byte(in), "VmRSS:")
	})
}
