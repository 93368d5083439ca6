package main

import (
	"fmt"
	"io"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// alarmJSON is one key transparency alarm of the current account in
// `qpc status --json`.
type alarmJSON struct {
	// Account is the account whose device raised it, user@domain.
	Account string `json:"account"`
	// Kind is foreign_key, foreign_device or evidence (client.AlarmKind).
	Kind string `json:"kind"`
	// LastMillis is when it was last raised, Unix ms.
	LastMillis int64 `json:"last_ms"`
	// Text is the alarm as the commands print it.
	Text string `json:"text"`
}

// alarmKindName names a client.AlarmKind for --json: stable words, not
// the numbers the alarms file keeps.
func alarmKindName(k client.AlarmKind) string {
	switch k {
	case client.AlarmForeignKey:
		return "foreign_key"
	case client.AlarmForeignDevice:
		return "foreign_device"
	case client.AlarmEvidence:
		return "evidence"
	}
	return "unknown"
}

// accountAlarms returns the current account in stateDir and the key
// transparency alarms its devices on this machine raised
// (client.RecordAlarm), newest first, when that account's node is
// server; none otherwise: `qpc status` on another node says nothing of
// this account. A damaged alarms file counts as none, since status is a
// health check of the node, not of this machine.
func accountAlarms(stateDir, server string) (string, []client.AlarmRecord) {
	cur, err := client.LoadCurrent(stateDir)
	if err != nil || cur.Server != server {
		return "", nil
	}
	recs, err := client.LoadAlarms(stateDir, cur.Address())
	if err != nil {
		return "", nil
	}
	return cur.Address(), recs
}

// alarmsJSON is accountAlarms for `qpc status --json`: never null, so
// that a script reads an empty list as "no alarms".
func alarmsJSON(stateDir, server string) []alarmJSON {
	account, recs := accountAlarms(stateDir, server)
	out := make([]alarmJSON, 0, len(recs))
	for _, r := range recs {
		out = append(out, alarmJSON{Account: account, Kind: alarmKindName(r.Kind), LastMillis: r.Last.UnixMilli(), Text: r.Text})
	}
	return out
}

// printAccountAlarms prints the key transparency alarms of the current
// account (accountAlarms) when its node is server: `qpc status` shows
// them without a login.
func printAccountAlarms(w io.Writer, stateDir, server string, now time.Time) {
	account, recs := accountAlarms(stateDir, server)
	if len(recs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nkey transparency %s of your account %s on this machine:\n", termtext.Plural(len(recs), "alarm"), termtext.Safe(account))
	for _, r := range recs {
		// An alarm's text quotes domains and device names from nodes.
		fmt.Fprintf(w, "  %s ago: %s\n", now.Sub(r.Last).Truncate(time.Second), termtext.Line(r.Text))
	}
}
