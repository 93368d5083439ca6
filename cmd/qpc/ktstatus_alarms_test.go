package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/protocol"
)

// statusAlarms runs `qpc status --json` against p as a process whose
// default state dir is stateDir, and returns its "alarms".
func statusAlarms(t *testing.T, p *nodeProc, stateDir string) []alarmJSON {
	t.Helper()
	home := t.TempDir()
	if err := os.Symlink(stateDir, filepath.Join(home, "qpc")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qpcBin, "status", "--server", p.addr, "--pin", p.fp, "--json")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("qpc status --json: %v\n%s", err, out)
	}
	var js struct {
		Alarms *[]alarmJSON `json:"alarms"`
	}
	if err := json.Unmarshal(out, &js); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if js.Alarms == nil {
		t.Fatalf("qpc status --json has no \"alarms\" list:\n%s", out)
	}
	return *js.Alarms
}

func TestQPCStatusJSONCarriesTheAlarmsOfTheAccountOfThatNode(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	state := t.TempDir()
	cur := client.Current{User: "alice", Domain: domain1, Server: p.addr, Fingerprint: p.fp}
	if err := client.SaveCurrent(state, cur); err != nil {
		t.Fatal(err)
	}
	if got := statusAlarms(t, p, state); len(got) != 0 {
		t.Fatalf("alarms of an account that raised none: %+v", got)
	}
	// Two alarms as alice's devices raise them: the text of one quotes a
	// node's words, escape included, which JSON carries exactly.
	foreign := client.Alarm{Kind: client.AlarmForeignKey, Address: cur.Address()}
	ev := client.Alarm{Kind: client.AlarmEvidence, Address: "n9.example.mesh", Evidence: &protocol.KTEvidence{
		Domain: "n9.example.mesh", Reason: "fork", ReportedBy: "evil\x1b[2J", Found: time.Unix(1_800_000_000, 0)}}
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	if err := client.RecordAlarm(state, cur.Address(), foreign, t0); err != nil {
		t.Fatal(err)
	}
	if err := client.RecordAlarm(state, cur.Address(), ev, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got := statusAlarms(t, p, state)
	want := []alarmJSON{
		{Account: cur.Address(), Kind: "evidence", LastMillis: t0.Add(time.Second).UnixMilli(), Text: ev.Text()},
		{Account: cur.Address(), Kind: "foreign_key", LastMillis: t0.UnixMilli(), Text: foreign.Text()},
	}
	if len(got) != len(want) {
		t.Fatalf("alarms %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("alarm %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if !strings.Contains(got[0].Text, "evil\x1b[2J") {
		t.Errorf("the JSON changed the node's words: %q", got[0].Text)
	}

	// The same account made on another node: status of this node shows
	// none of its alarms.
	cur.Server = "192.0.2.7:7000"
	if err := client.SaveCurrent(state, cur); err != nil {
		t.Fatal(err)
	}
	if got := statusAlarms(t, p, state); len(got) != 0 {
		t.Errorf("alarms of an account of another node: %+v", got)
	}
}
