//go:build !router

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/protocol"
)

// meshStatusJSON is one message in `qpc mesh track --json`.
type meshStatusJSON struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	At            string `json:"at,omitempty"`
	UpdatedMillis int64  `json:"updated_ms,omitempty"`
	Recipient     string `json:"recipient,omitempty"`
	ExpiresMillis int64  `json:"expires_ms,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

func runMeshTrack(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("mesh track", "ID [ID...] [--json]\n\n"+
		"what became of messages you sent that went into the mesh; ID is the id qpc send printed", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	asJSON := fs.Bool("json", false, "print one JSON object per message")
	hexIDs, err := parseInterspersed(fs, args)
	if err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc mesh track", err)
		return exitUsage
	}
	ids, err := parseMeshIDs(hexIDs)
	if err != nil {
		printErr(stderr, "qpc mesh track", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc mesh track", err)
		return exitFailure
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	sts, err := s.Client().MessageStatus(ctx, ids)
	if err != nil {
		printErr(stderr, "qpc mesh track", err)
		return exitFailure
	}
	for i := range sts {
		sts[i].ID = ids[i] // the node answers in order; show what was asked
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, st := range sts {
			enc.Encode(messageStatusJSON(st))
		}
		return exitOK
	}
	printStatuses(stdout, stderr, sts, time.Now())
	return exitOK
}

// parseMeshIDs reads message ids as qpc send prints them: 64 hex digits.
func parseMeshIDs(args []string) ([]protocol.MeshID, error) {
	if len(args) == 0 {
		return nil, errors.New("no message id given (qpc send prints it when a message goes into the mesh)")
	}
	ids := make([]protocol.MeshID, len(args))
	for i, a := range args {
		b, err := hex.DecodeString(strings.TrimSpace(a))
		if err != nil || len(b) != len(ids[i]) {
			return nil, fmt.Errorf("%q is not a message id (%d hex digits, as qpc send printed it)", a, 2*len(ids[i]))
		}
		copy(ids[i][:], b)
	}
	return ids, nil
}

// parseInterspersed parses fs from args with flags and other arguments in
// any order (qpc mesh track ID --json), and returns the other arguments;
// parseFlags does it, for every command alike.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

func messageStatusJSON(st protocol.MessageStatus) meshStatusJSON {
	j := meshStatusJSON{ID: hex.EncodeToString(st.ID[:]), State: st.State.String(), At: st.At, Recipient: st.Recipient}
	if !st.Updated.IsZero() {
		j.UpdatedMillis = st.Updated.UnixMilli()
	}
	if !st.Expires.IsZero() {
		j.ExpiresMillis = st.Expires.UnixMilli()
	}
	if st.Reason != nil {
		j.Reason = st.Reason.Error()
	}
	return j
}

// printStatuses prints one line per message, and on errw what an unknown
// state means when there is one.
func printStatuses(w, errw io.Writer, sts []protocol.MessageStatus, now time.Time) {
	rows := [][]string{{"ID", "STATE", "AT", "UPDATED", "RECIPIENT", "EXPIRES", "REASON"}}
	unknown := false
	for _, st := range sts {
		// The whole id: what the table shows can be given back to
		// mesh track (16 digits of it were refused).
		row := []string{hex.EncodeToString(st.ID[:]), st.State.String(), "-", "-", "-", "-", ""}
		if st.State == protocol.MeshUnknown {
			unknown = true
			rows = append(rows, row)
			continue
		}
		if st.At != "" {
			row[2] = termtext.Safe(st.At)
		}
		if !st.Updated.IsZero() {
			row[3] = roughDuration(now.Sub(st.Updated)) + " ago"
		}
		if st.Recipient != "" {
			row[4] = termtext.Safe(st.Recipient)
		}
		switch {
		case st.Expires.IsZero():
		case st.Expires.After(now):
			row[5] = "in " + roughDuration(st.Expires.Sub(now))
		default:
			row[5] = roughDuration(now.Sub(st.Expires)) + " ago"
		}
		if st.Reason != nil {
			row[6] = sayError(st.Reason)
		}
		rows = append(rows, row)
	}
	printTable(w, rows)
	if unknown {
		fmt.Fprintln(errw, "qpc mesh track: unknown: your node has no such message of yours: a mistyped id, one sent by another account, "+
			"or one whose TTL has passed")
	}
}
