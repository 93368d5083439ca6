package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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
	Last time.Time
	Kind AlarmKind
	// Text is the alarm's text (Alarm.Text) on one line.
	Text string
}

// alarmsPath is where account's alarms are kept: in the clear, like the
// current account's name, since `qpc status` reads them without a password;
// they hold addresses and domains, nothing secret.
func alarmsPath(dir, account string) string {
	return filepath.Join(dir, strings.ToLower(account)+".alarms")
}

// The file is one alarm a line, newest first: "<unix ms> <kind> <text>".
// Not JSON: `qpc status` reads it in the router build too, which carries
// no JSON decoder (internal/jsontree says why).

// RecordAlarm keeps al for account in dir, the newest first; an alarm of
// the same text as one kept moves up with its new time.
func RecordAlarm(dir, account string, al Alarm, now time.Time) error {
	recs, err := LoadAlarms(dir, account)
	if err != nil {
		recs = nil // a damaged file is replaced
	}
	text := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, al.Text())
	out := []AlarmRecord{{Last: now.UTC(), Kind: al.Kind, Text: text}}
	for _, r := range recs {
		if r.Text != text && len(out) < MaxAlarmRecords {
			out = append(out, r)
		}
	}
	var b strings.Builder
	for _, r := range out {
		fmt.Fprintf(&b, "%d %d %s\n", r.Last.UnixMilli(), r.Kind, r.Text)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return atomicfile.Write(alarmsPath(dir, account), []byte(b.String()), 0o600)
}

// ErrBadAlarms means the file of kept alarms is damaged.
var ErrBadAlarms = errors.New("damaged file of key transparency alarms")

// LoadAlarms returns the alarms kept for account in dir, newest first;
// none when there are none.
func LoadAlarms(dir, account string) ([]AlarmRecord, error) {
	path := alarmsPath(dir, account)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var recs []AlarmRecord
	for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		ms, rest, ok1 := strings.Cut(line, " ")
		kind, text, ok2 := strings.Cut(rest, " ")
		t, err1 := strconv.ParseInt(ms, 10, 64)
		k, err2 := strconv.Atoi(kind)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n+1, ErrBadAlarms)
		}
		recs = append(recs, AlarmRecord{Last: time.UnixMilli(t).UTC(), Kind: AlarmKind(k), Text: text})
		if len(recs) == MaxAlarmRecords {
			break
		}
	}
	return recs, nil
}
