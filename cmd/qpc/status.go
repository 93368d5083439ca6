package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/protocol"
)

// statusJSON is what `qpc status --json` prints.
type statusJSON struct {
	Server       string `json:"server"`
	Fingerprint  string `json:"fingerprint"`
	NodeID       string `json:"node_id"`
	Domain       string `json:"domain"`
	Version      string `json:"version"`
	Commit       string `json:"commit"`
	Platform     string `json:"platform"`
	UptimeMillis int64  `json:"uptime_ms"`
	// MDNSInstance is the name the node announces with mDNS; absent
	// without mDNS.
	MDNSInstance string `json:"mdns_instance,omitempty"`
	// Links are the node's federation links; absent when it has none.
	Links []linkJSON `json:"links,omitempty"`
	// Files is the node's file store (docs/files.md).
	Files filesJSON `json:"files"`
	// KT is the node's key transparency log and evidence.
	KT ktJSON `json:"key_transparency"`
	// Alarms are the key transparency alarms of the current account on
	// this machine, when the node asked is that account's (docs/kt.md).
	Alarms []alarmJSON `json:"alarms"`
}

// filesJSON is the file store in `qpc status --json`: files held, the
// bytes they count against the limit (--file-store-size).
type filesJSON struct {
	Count int    `json:"count"`
	Bytes uint64 `json:"bytes"`
	Limit uint64 `json:"limit"`
}

// linkJSON is one federation link in `qpc status --json`.
type linkJSON struct {
	Domain      string `json:"domain"`
	Address     string `json:"address"`
	State       string `json:"state"`
	SinceMillis int64  `json:"since_ms,omitempty"`
	RelayedOut  uint64 `json:"relayed_out"`
	RelayedIn   uint64 `json:"relayed_in"`
	Errors      uint64 `json:"errors"`
	LastError   string `json:"last_error,omitempty"`
}

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", "[--server HOST[:PORT]|auto] [--pin SHA256HEX | --ca-cert FILE] [--json]", stderr)
	var f clientFlags
	f.bind(fs, stderr, false)
	fs.Lookup("server").Usage += " (default: the node of the current account)"
	fs.Lookup("timeout").DefValue = "5s" // a health check should answer fast
	f.timeout = 5 * time.Second
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qpc status: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc status", err)
		return exitUsage
	}
	// Like mesh route and channel stats: the account's node by default.
	if !f.serverOfCurrentAccount(client.DefaultStateDir()) {
		fmt.Fprintln(stderr, "qpc status: --server is required (no current account to take the node from)")
		return exitUsage
	}
	var (
		h                 protocol.Health
		addr, fingerprint string
	)
	err := f.ask(f.server, func(ctx context.Context, c *client.Client) (err error) {
		addr, fingerprint = c.Addr(), c.Fingerprint()
		h, err = c.Health(ctx)
		return err
	})
	if err != nil {
		printErr(stderr, "qpc status", err)
		return exitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		out := statusJSON{
			Server: addr, Fingerprint: fingerprint, NodeID: h.NodeID, Domain: h.Domain,
			Version: h.Version, Commit: h.Commit, Platform: h.Platform, UptimeMillis: h.Uptime.Milliseconds(),
			MDNSInstance: h.MDNSInstance, KT: ktStatus(h), Alarms: alarmsJSON(client.DefaultStateDir(), addr),
			Files: filesJSON{Count: h.Files.Count, Bytes: h.Files.Bytes, Limit: h.Files.Limit},
		}
		for _, l := range h.Links {
			lj := linkJSON{Domain: l.Domain, Address: l.Address, State: l.State.String(),
				RelayedOut: l.RelayedOut, RelayedIn: l.RelayedIn, Errors: l.Errors, LastError: l.LastError}
			if !l.Since.IsZero() {
				lj.SinceMillis = l.Since.UnixMilli()
			}
			out.Links = append(out.Links, lj)
		}
		enc.Encode(out)
		return exitOK
	}
	fmt.Fprintf(stdout, "server       %s\n", addr)
	// What the node says about itself is text from elsewhere.
	fmt.Fprintf(stdout, "node id      %s\n", termtext.Safe(h.NodeID))
	fmt.Fprintf(stdout, "domain       %s\n", termtext.Safe(h.Domain))
	fmt.Fprintf(stdout, "version      qpc %s (%s) %s\n", termtext.Safe(h.Version), termtext.Safe(h.Commit), termtext.Safe(h.Platform))
	fmt.Fprintf(stdout, "uptime       %s\n", h.Uptime.Truncate(time.Second))
	fmt.Fprintf(stdout, "fingerprint  %s\n", fingerprint)
	if h.MDNSInstance != "" {
		// Another responder on the link may have made the node take a
		// new name (" (2)"): what nearby laptops list it as.
		fmt.Fprintf(stdout, "mdns name    %s\n", termtext.Safe(h.MDNSInstance))
	}
	printKT(stdout, h, time.Now())
	if h.Files.Limit > 0 {
		fmt.Fprintf(stdout, "files        %d held, %.1f of %.1f MiB\n", h.Files.Count,
			float64(h.Files.Bytes)/(1<<20), float64(h.Files.Limit)/(1<<20))
	}
	printLinks(stdout, h.Links, time.Now())
	printAccountAlarms(stdout, client.DefaultStateDir(), addr, time.Now())
	return exitOK
}

// printLinks prints the federation links as a table, or nothing without
// any.
func printLinks(w io.Writer, links []protocol.Link, now time.Time) {
	if len(links) == 0 {
		return
	}
	rows := [][]string{{"federation", "address", "state", "since", "out", "in", "errors", "last error"}}
	for _, l := range links {
		domain := l.Domain
		if domain == "" {
			domain = "(not reached yet)"
		}
		since := "-"
		if !l.Since.IsZero() {
			since = now.Sub(l.Since).Truncate(time.Second).String() + " ago"
		}
		rows = append(rows, []string{termtext.Safe(domain), termtext.Safe(l.Address), l.State.String(), since,
			strconv.FormatUint(l.RelayedOut, 10), strconv.FormatUint(l.RelayedIn, 10),
			strconv.FormatUint(l.Errors, 10), termtext.Safe(l.LastError)})
	}
	fmt.Fprintln(w)
	printTable(w, rows)
}
