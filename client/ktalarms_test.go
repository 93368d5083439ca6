package client

import (
	"os"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

func TestAlarmsAreKeptNewestFirstOnceEachAndBounded(t *testing.T) {
	dir := t.TempDir()
	if recs, err := LoadAlarms(dir, "alice@n1"); err != nil || len(recs) != 0 {
		t.Fatalf("no alarms yet: %v, %v", recs, err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	foreign := Alarm{Kind: AlarmForeignKey, Address: "alice@n1"}
	for i := range MaxAlarmRecords + 5 {
		al := Alarm{Kind: AlarmForeignDevice, Address: "alice@n1", Device: string(rune('a' + i))}
		if err := RecordAlarm(dir, "alice@n1", al, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := RecordAlarm(dir, "Alice@N1", foreign, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := RecordAlarm(dir, "alice@n1", foreign, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	recs, err := LoadAlarms(dir, "alice@n1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != MaxAlarmRecords || recs[0].Kind != AlarmForeignKey || !recs[0].Last.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("%d alarms, the first %+v", len(recs), recs[0])
	}
	if recs[1].Kind != AlarmForeignDevice || recs[1].Text != (Alarm{Kind: AlarmForeignDevice, Address: "alice@n1", Device: string(rune('a' + MaxAlarmRecords + 4))}).Text() {
		t.Fatalf("the second is not the newest device alarm: %+v", recs[1])
	}
	// A damaged file is an error to read and is replaced by the next record.
	if err := os.WriteFile(alarmsPath(dir, "alice@n1"), []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAlarms(dir, "alice@n1"); err == nil {
		t.Fatal("a damaged file read without error")
	}
	if err := RecordAlarm(dir, "alice@n1", foreign, t0); err != nil {
		t.Fatal(err)
	}
	if recs, err := LoadAlarms(dir, "alice@n1"); err != nil || len(recs) != 1 {
		t.Fatalf("after the damage: %v, %v", recs, err)
	}
}

func FuzzLoadAlarms(f *testing.F) {
	dir := f.TempDir()
	if err := RecordAlarm(dir, "a@n", Alarm{Kind: AlarmForeignKey, Address: "a@n"}, time.Unix(1, 0)); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(alarmsPath(dir, "a@n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("1 2 x\n3 4 y\n"))
	f.Add([]byte("-1 -2 \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(alarmsPath(dir, "a@n"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		recs, err := LoadAlarms(dir, "a@n")
		if err != nil {
			return
		}
		if len(recs) > MaxAlarmRecords {
			t.Fatalf("%d records, more than %d", len(recs), MaxAlarmRecords)
		}
		// What reads is kept again as it was read (texts on one line).
		if len(recs) > 0 {
			if err := RecordAlarm(dir, "a@n", Alarm{Kind: AlarmEvidence, Evidence: &protocol.KTEvidence{}}, time.Unix(2, 0)); err != nil {
				t.Fatal(err)
			}
			again, err := LoadAlarms(dir, "a@n")
			if err != nil || len(again) == 0 || again[0].Kind != AlarmEvidence {
				t.Fatalf("after recording: %v, %v", again, err)
			}
		}
	})
}
