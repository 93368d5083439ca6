package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quicprochat/qpc/internal/atomicfile"
)

// MaxAlarmRecords is how many alarms RecordAlarm keeps per account: the
// newest, each text once.
const MaxAlarmRecords = 16

// AlarmRecord is an Alarm as kept on disk, so that a command that does
// not log in (`qpc status`) can still show it.
type AlarmRecord struct {
	// Last is when the alarm was last raised.
	Last time.Time `json:"last"`
	Kind AlarmKind `json:"kind"`
	Text string    `json:"text"`
}

// alarmsPath is where account's alarms are kept: in the clear, like the
// current account's name, since `qpc status` reads them without a password;
// they hold addresses and domains, nothing secret.
func alarmsPath(dir, account string) string {
	return filepath.Join(dir, strings.ToLower(account)+".alarms")
}

// RecordAlarm keeps al for account in dir, the newest first; an alarm of
// the same text as one kept moves up with its new time.
func RecordAlarm(dir, account string, al Alarm, now time.Time) error {
	recs, err := LoadAlarms(dir, account)
	if err != nil {
		recs = nil // a damaged file is replaced
	}
	rec := AlarmRecord{Last: now.UTC(), Kind: al.Kind, Text: al.Text()}
	out := []AlarmRecord{rec}
	for _, r := range recs {
		if r.Text != rec.Text && len(out) < MaxAlarmRecords {
			out = append(out, r)
		}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return atomicfile.Write(alarmsPath(dir, account), data, 0o600)
}

// LoadAlarms returns the alarms kept for account in dir, newest first;
// none when there are none.
func LoadAlarms(dir, account string) ([]AlarmRecord, error) {
	data, err := os.ReadFile(alarmsPath(dir, account))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var recs []AlarmRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%s: %w", alarmsPath(dir, account), err)
	}
	if len(recs) > MaxAlarmRecords {
		recs = recs[:MaxAlarmRecords]
	}
	return recs, nil
}
