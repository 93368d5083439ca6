package main

import (
	"fmt"
	"io"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// printAccountAlarms prints the key transparency alarms the current
// account's devices on this machine raised (client.RecordAlarm), when that
// account's node is server: `qpc status` shows them without a login.
func printAccountAlarms(w io.Writer, stateDir, server string, now time.Time) {
	cur, err := client.LoadCurrent(stateDir)
	if err != nil || cur.Server != server {
		return
	}
	recs, err := client.LoadAlarms(stateDir, cur.Address())
	if err != nil || len(recs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nkey transparency %s of your account %s on this machine:\n", termtext.Plural(len(recs), "alarm"), termtext.Safe(cur.Address()))
	for _, r := range recs {
		// An alarm's text quotes domains and device names from nodes.
		fmt.Fprintf(w, "  %s ago: %s\n", now.Sub(r.Last).Truncate(time.Second), termtext.Line(r.Text))
	}
}
