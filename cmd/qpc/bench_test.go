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
	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	// The node offers the message stream, and the clients took it.
	if raw["path"] != "stream" {
		t.Errorf("path %v, want stream", raw["path"])
	}
	r := map[string]float64{}
	for k, v := range raw {
		if f, ok := v.(float64); ok {
			r[k] = f
		}
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

// TestBenchRPCComparesTheCapnProtoPath runs the bench with --rpc: the
// clients carry the messages with the Cap'n Proto calls, and say so.
func TestBenchRPCComparesTheCapnProtoPath(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(qpcBin, "bench", "--spawn-node", "--json", "--rpc", "--clients", "2", "--messages", "100", "--window", "4")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("qpc bench --rpc: %v: %s", err, errb.String())
	}
	var r struct {
		Path      string  `json:"path"`
		Delivered float64 `json:"delivered"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("--json output %q: %v", out.String(), err)
	}
	if r.Path != "rpc" || r.Delivered != 200 {
		t.Errorf("path %q, %v delivered; want rpc, 200", r.Path, r.Delivered)
	}
}
