package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestGoalsAreRatiosOfTheMediansOverTheRounds feeds the report three
// rounds whose medians are known, one round an outlier, and reads the
// goals back from its JSON.
func TestGoalsAreRatiosOfTheMediansOverTheRounds(t *testing.T) {
	c := &comparison{}
	for r, q := range []run{
		{MsgsPerS: 20000, P50ms: 10, P99ms: 30, CPUus: 30, RSSIdle: 11, AnonPeak: 20},
		{MsgsPerS: 25000, P50ms: 12, P99ms: 40, CPUus: 36, RSSIdle: 11, AnonPeak: 22},
		{MsgsPerS: 1, P50ms: 900, P99ms: 900, CPUus: 900, RSSIdle: 99, AnonPeak: 99}, // a neighbour's load
	} {
		q.Round, q.System, q.Window = r+1, sysQPC, 32
		d := run{Round: r + 1, System: sysDurable, Window: 32, MsgsPerS: 40000, P50ms: 5, P99ms: 10, CPUus: 10}
		one := run{Round: r + 1, System: sysQPC, Window: 1, P50ms: 3, CommitMs: float64(8 + r)}
		oneRelay := run{Round: r + 1, System: sysDurable, Window: 1, P50ms: 2, CommitMs: 2}
		c.runs = append(c.runs, q, d, one, oneRelay)
	}
	var out bytes.Buffer
	c.report(&out, true)
	var got struct {
		Goals []struct {
			Goal  string
			Value float64
			Met   bool
		}
		CommitRatios []struct {
			Window int
			Ratio  float64
		} `json:"commit_ratios"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		v   float64
		met bool
	}{
		"throughput / relay+bbolt (≥)":     {0.5, true}, // median 20000 / 40000
		"p99 / relay+bbolt (≤)":            {4, false},  // median 40 / 10
		"p50 / relay+bbolt (≤)":            {2.4, false},
		"CPU per msg / relay+bbolt (≤)":    {3.6, false},
		"idle RSS MiB (≤)":                 {11, true},
		"anonymous RSS under load MiB (≤)": {22, true},
		"window 1: p50 / relay+bbolt (≤)":  {1.5, false},
	}
	if len(got.Goals) != len(want) {
		t.Fatalf("%d goals, want %d: %s", len(got.Goals), len(want), out.String())
	}
	for _, g := range got.Goals {
		w, ok := want[g.Goal]
		if !ok {
			t.Errorf("unexpected goal %q", g.Goal)
			continue
		}
		if d := g.Value - w.v; d > 1e-9 || d < -1e-9 || g.Met != w.met {
			t.Errorf("%s: %v (met %v), want %v (met %v)", g.Goal, g.Value, g.Met, w.v, w.met)
		}
	}
	// The commits explain window 1: qpc's median commit (9 ms of 8, 9,
	// 10) against the relay's 2 ms; window 32 reported no commit times.
	if len(got.CommitRatios) != 2 || got.CommitRatios[1].Window != 1 || got.CommitRatios[1].Ratio != 4.5 || got.CommitRatios[0].Ratio != 0 {
		t.Errorf("commit ratios %+v, want window 1 at 4.5", got.CommitRatios)
	}
}

// TestTheMosquittoRatioIsAGoalOnlyWhenMeasured reads the Mosquitto goal
// back from the report: the median qpc throughput over the median
// broker's, met at 1.2; and without broker runs, no figure but the
// sentence that says why.
func TestTheMosquittoRatioIsAGoalOnlyWhenMeasured(t *testing.T) {
	c := &comparison{}
	for r, m := range []float64{10000, 20000, 900000} {
		c.runs = append(c.runs,
			run{Round: r + 1, System: sysQPC, Window: 32, MsgsPerS: 30000},
			run{Round: r + 1, System: sysDurable, Window: 32, MsgsPerS: 40000},
			run{Round: r + 1, System: sysMosquitto, Window: 32, MsgsPerS: m})
	}
	goal := func(c *comparison) (value float64, met, found bool, reason string) {
		var out bytes.Buffer
		c.report(&out, true)
		var got struct {
			Goals []struct {
				Goal  string
				Value float64
				Met   bool
			}
			Mosquitto string
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		for _, g := range got.Goals {
			if g.Goal == "throughput / Mosquitto QoS 1 (≥)" {
				return g.Value, g.Met, true, got.Mosquitto
			}
		}
		return 0, false, false, got.Mosquitto
	}
	v, met, found, reason := goal(c)
	if !found || v != 1.5 || !met || reason != "" { // 30000 / median 20000
		t.Errorf("Mosquitto goal %v (met %v, found %v, %q), want 1.5, met", v, met, found, reason)
	}
	c.runs[2].MsgsPerS, c.runs[5].MsgsPerS = 28000, 28000 // median 28000: 1.07
	if v, met, _, _ := goal(c); met || v > 1.1 || v < 1.05 {
		t.Errorf("Mosquitto goal %v (met %v), want 1.07, MISSED", v, met)
	}
	c.runs = slices.DeleteFunc(c.runs, func(r run) bool { return r.System == sysMosquitto })
	if _, _, found, reason := goal(c); found || reason != notMeasuredMosquitto {
		t.Errorf("without Mosquitto runs: goal found %v, reason %q", found, reason)
	}
	var text bytes.Buffer
	c.report(&text, false)
	if !strings.Contains(text.String(), notMeasuredMosquitto) {
		t.Errorf("the text report does not say the ratio is not measured:\n%s", text.String())
	}
}
