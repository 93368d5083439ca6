package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/mesh/discovery"
)

// meshPeerJSON is one node in `qpc mesh peers --json`.
type meshPeerJSON struct {
	NodeID      string   `json:"node_id"`
	Domain      string   `json:"domain"`
	Instance    string   `json:"instance"`
	Port        uint16   `json:"port"`
	Fingerprint string   `json:"fingerprint"`
	Addr        string   `json:"addr"`
	Addrs       []string `json:"addrs"`
	Interface   string   `json:"iface"`
	TTLSeconds  int64    `json:"ttl_s"`
}

func runMesh(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprintln(w, "usage: qpc mesh peers [--iface IFACE]... [--timeout 3s] [--json]")
		fmt.Fprintln(w, "       qpc mesh route [--server HOST:PORT|auto] [--json]")
		fmt.Fprintln(w, "       qpc mesh store [--server HOST:PORT|auto] [--json]")
		fmt.Fprintln(w, "       qpc mesh track ID [ID...] [--json]")
		fmt.Fprintln(w)
		for _, c := range meshCommands() {
			fmt.Fprintf(w, "  %-6s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(w, "\nRun 'qpc mesh <command> --help' for a command's flags.")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range meshCommands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "qpc mesh: unknown command %q (try: qpc mesh peers, route, store or track)\n", args[0])
	return exitUsage
}

func meshCommands() []command {
	return []command{
		{"peers", "find the qpc nodes on the local network with mDNS and list them", runMeshPeers},
		{"route", "a node's routing table: the domains it reaches through its federation links", runMeshRoute},
		{"store", "a node's store-and-forward store: messages held for unreachable nodes, bounds, counters", runMeshStore},
		{"track", "what became of messages you sent that went into the mesh (needs login)", runMeshTrack},
	}
}

func runMeshPeers(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("mesh peers", "[--iface IFACE]... [--timeout 3s] [--json]", stderr)
	var ifaces stringList
	fs.Var(&ifaces, "iface", "ask on network interface `IFACE`, repeatable (default: every multicast interface)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to listen for answers")
	asJSON := fs.Bool("json", false, "print the nodes as JSON")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "qpc mesh peers: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *timeout <= 0:
		fmt.Fprintln(stderr, "qpc mesh peers: --timeout must be positive")
		return exitUsage
	}
	peers, stats, err := discovery.Browse(context.Background(), discovery.BrowseConfig{Interfaces: ifaces, Timeout: *timeout})
	if err != nil {
		printErr(stderr, "qpc mesh peers", err)
		if errors.Is(err, discovery.ErrNoInterface) {
			return exitUsage
		}
		return exitFailure
	}
	if n := stats.Malformed + stats.BadAnnouncements + stats.UnknownVersion; n > 0 {
		fmt.Fprintf(stderr, "qpc mesh peers: ignored %d malformed packets, %d bad announcements, %d of an unknown version\n",
			stats.Malformed, stats.BadAnnouncements, stats.UnknownVersion)
	}
	if *asJSON {
		out := make([]meshPeerJSON, 0, len(peers))
		for _, p := range peers {
			j := meshPeerJSON{
				NodeID: p.ID, Domain: p.Domain, Instance: p.Instance, Port: p.Port, Fingerprint: p.Fingerprint,
				Addr: p.DialAddr(), Interface: p.Interface, TTLSeconds: int64(time.Until(p.Expires).Seconds()),
			}
			for _, a := range p.Addrs {
				j.Addrs = append(j.Addrs, a.String())
			}
			out = append(out, j)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return exitOK
	}
	if len(peers) == 0 {
		fmt.Fprintf(stderr, "qpc mesh peers: no qpc node answered within %s\n", *timeout)
		return exitOK
	}
	// The instance name tells apart two nodes of one domain, the second
	// renamed "domain (2)" by mDNS probing.
	rows := [][]string{{"DOMAIN", "INSTANCE", "ADDRESS", "IFACE", "NODE ID", "FINGERPRINT"}}
	for _, p := range peers {
		rows = append(rows, []string{p.Domain, p.Instance, p.DialAddr(), p.Interface, p.ID, p.Fingerprint})
	}
	printTable(stdout, rows)
	return exitOK
}

// printTable prints rows in columns two spaces apart (termtext.Table,
// which the REPL shares).
var printTable = termtext.Table

// stringList is a repeatable string flag; a value may also be a comma- or
// space-separated list.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	items := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	if len(items) == 0 {
		return errors.New("empty value")
	}
	*l = append(*l, items...)
	return nil
}
