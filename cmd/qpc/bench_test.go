//go:build !router

package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchSpawnsItsNodeAndReportsWhatItSpent runs `qpc bench --spawn-node
// --json` as a person would: a real node process started by the bench, a
// short run against it, and the node's costs read from /proc and its
// metrics.
func TestBenchSpawnsItsNodeAndReportsWhatItSpent(t *testing.T) {
	// The real binary, not runQPC: the bench starts its node from its own
	// executable, which in this process is the test binary.
	cmd := exec.Command(qpcBin, "bench", "--spawn-node", "--json", "--clients", "2", "--messages", "200", "--window", "8")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("qpc bench: %v: %s", err, errb.String())
	}
	stdout, stderr := out.String(), errb.String()
	var r map[string]float64
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	if r["delivered"] != 400 || r["msgs_per_s"] <= 0 || r["p50_ms"] <= 0 || r["p50_ms"] > r["p99_ms"] {
		t.Errorf("run: %v", r)
	}
	// CPU time comes in clock ticks of 10 ms, which 400 messages may not
	// reach: it may be 0, never negative.
	if r["node_cpu_us_per_msg"] < 0 || r["rss_idle_mib"] <= 0 || r["rss_peak_mib"] < r["rss_idle_mib"] || r["anon_peak_mib"] <= 0 {
		t.Errorf("node costs: %v", r)
	}
	if r["commits"] < 1 || r["msgs_per_commit"] <= 0 || r["msgs_per_commit"] > 400 {
		t.Errorf("group commits: %v", r)
	}
	// Every message waited for a synced commit: the commits took time,
	// and not more than the run (a little slack for the probe's scrapes
	// around it).
	if r["commit_ms"] <= 0 || r["commit_busy"] <= 0 || r["commit_busy"] > 1.2 || r["receipt_p50_ms"] <= 0 {
		t.Errorf("commit durations and receipts: %v", r)
	}
	if !strings.Contains(stderr, "spawned node pid") {
		t.Errorf("no word of the spawned node on stderr: %s", stderr)
	}
}

func TestBenchNeedsAServerOrItsOwnNode(t *testing.T) {
	for _, args := range [][]string{{"bench"}, {"bench", "--spawn-node", "--server", "127.0.0.1:1"}, {"bench", "--spawn-node", "--node-pid", "1"}} {
		if code, _, stderr := runQPC(args...); code != exitUsage {
			t.Errorf("qpc %v exited %d, want usage error; stderr: %s", args, code, stderr)
		}
	}
}
