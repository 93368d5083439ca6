package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/protocol"
)

// `qpc mesh route` and `qpc mesh store` ask a node for its store-and-forward
// state (NodeService.meshState, no login) and print one part of it.

// meshRouteJSON is one route in `qpc mesh route --json`.
type meshRouteJSON struct {
	Domain string `json:"domain"`
	Via    string `json:"via"`
	Hops   uint8  `json:"hops"`
	// Link is true for a route over a federation link of the node, which
	// lasts as long as the link; other routes lapse at ExpiresMillis
	// unless the neighbour repeats them.
	Link          bool  `json:"link"`
	ExpiresMillis int64 `json:"expires_ms,omitempty"`
}

// meshStoreJSON is what `qpc mesh store --json` prints.
type meshStoreJSON struct {
	Envelopes    int                   `json:"envelopes"`
	Bytes        int64                 `json:"bytes"`
	MaxBytes     int64                 `json:"max_bytes"`
	OldestMillis int64                 `json:"oldest_ms,omitempty"`
	Seen         int                   `json:"seen"`
	Domains      []meshStoreDomainJSON `json:"domains"`
	// Counters are since the node started, by name: "forwarded",
	// "dropped:<reason>", "refused:<reason>", ...
	Counters map[string]uint64 `json:"counters"`
}

type meshStoreDomainJSON struct {
	Domain    string `json:"domain"`
	Envelopes int    `json:"envelopes"`
	Bytes     int64  `json:"bytes"`
}

// meshOff is what route and store say of a node without store-and-forward:
// it reports a store bound of 0.
const meshOff = "the node does not run store-and-forward (it needs federation: --federation-cert, --federation-key, --federation-ca)"

func runMeshRoute(args []string, stdout, stderr io.Writer) int {
	return runMeshState("route", "the node's routing table: the domains it reaches, through which neighbour, in how many hops",
		args, stdout, stderr, func(w, errw io.Writer, r protocol.MeshReport, asJSON bool) {
			if asJSON {
				writeJSON(w, routesJSON(r.Routes))
				return
			}
			if r.Store.MaxBytes == 0 && len(r.Routes) == 0 {
				fmt.Fprintf(errw, "qpc mesh route: %s\n", meshOff)
				return
			}
			printRoutes(w, errw, r.Routes, time.Now())
		})
}

func runMeshStore(args []string, stdout, stderr io.Writer) int {
	return runMeshState("store", "the node's store-and-forward store: envelopes held, its bounds, what it did since it started",
		args, stdout, stderr, func(w, errw io.Writer, r protocol.MeshReport, asJSON bool) {
			if asJSON {
				writeJSON(w, storeJSON(r))
				return
			}
			if r.Store.MaxBytes == 0 && len(r.Counters) == 0 {
				fmt.Fprintf(errw, "qpc mesh store: %s\n", meshOff)
				return
			}
			printStore(w, r, time.Now())
		})
}

// runMeshState parses the flags of route or store, asks the node and hands
// the answer to print (which writes to stdout, notes to stderr).
func runMeshState(name, what string, args []string, stdout, stderr io.Writer, print func(w, errw io.Writer, r protocol.MeshReport, asJSON bool)) int {
	fs := newFlagSet("mesh "+name, "[--server HOST:PORT|auto] [--pin SHA256HEX | --ca-cert FILE] [--json]\n\n"+what, stderr)
	var f clientFlags
	f.bind(fs, stderr, false)
	fs.Lookup("server").Usage += " (default: the node of the current account)"
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qpc mesh %s: unexpected argument %q\n", name, fs.Arg(0))
		return exitUsage
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc mesh "+name, err)
		return exitUsage
	}
	if !f.serverOfCurrentAccount(client.DefaultStateDir()) {
		fmt.Fprintf(stderr, "qpc mesh %s: --server is required (no current account to take the node from)\n", name)
		return exitUsage
	}
	var r protocol.MeshReport
	err := f.ask(f.server, func(ctx context.Context, c *client.Client) (err error) {
		r, err = c.MeshState(ctx)
		return err
	})
	if err != nil {
		printErr(stderr, "qpc mesh "+name, err)
		return exitFailure
	}
	print(stdout, stderr, r, *asJSON)
	return exitOK
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// sortedRoutes returns a copy of routes by domain, then hops. sort, not
// slices: a generic sort of a struct is a copy of pdqsort for that struct
// (about 5 KB of mips flash each, issue 25); sort's is shared.
func sortedRoutes(routes []protocol.MeshRoute) []protocol.MeshRoute {
	out := slices.Clone(routes)
	sort.SliceStable(out, func(i, j int) bool {
		return cmp.Or(cmp.Compare(out[i].Domain, out[j].Domain), cmp.Compare(out[i].Hops, out[j].Hops)) < 0
	})
	return out
}

func routesJSON(routes []protocol.MeshRoute) []meshRouteJSON {
	out := make([]meshRouteJSON, 0, len(routes))
	for _, rt := range sortedRoutes(routes) {
		j := meshRouteJSON{Domain: rt.Domain, Via: rt.Via, Hops: rt.Hops, Link: rt.Expires.IsZero()}
		if !j.Link {
			j.ExpiresMillis = rt.Expires.UnixMilli()
		}
		out = append(out, j)
	}
	return out
}

// printRoutes prints the routing table, or on errw a line saying why it is
// empty.
func printRoutes(w, errw io.Writer, routes []protocol.MeshRoute, now time.Time) {
	if len(routes) == 0 {
		fmt.Fprintln(errw, "qpc mesh route: no routes: the node has no federation link up, so it reaches no other node "+
			"(messages for other domains wait in its store)")
		return
	}
	rows := [][]string{{"DOMAIN", "VIA", "HOPS", "EXPIRES"}}
	for _, rt := range sortedRoutes(routes) {
		expires := "link"
		if !rt.Expires.IsZero() {
			expires = "in " + roughDuration(rt.Expires.Sub(now))
		}
		rows = append(rows, []string{rt.Domain, rt.Via, strconv.Itoa(int(rt.Hops)), expires})
	}
	printTable(w, rows)
}

func storeJSON(r protocol.MeshReport) meshStoreJSON {
	s := r.Store
	j := meshStoreJSON{Envelopes: s.Envelopes, Bytes: s.Bytes, MaxBytes: s.MaxBytes, Seen: s.Seen,
		Domains: []meshStoreDomainJSON{}, Counters: r.Counters}
	if !s.Oldest.IsZero() {
		j.OldestMillis = s.Oldest.UnixMilli()
	}
	for _, d := range s.Domains {
		j.Domains = append(j.Domains, meshStoreDomainJSON{Domain: d.Domain, Envelopes: d.Envelopes, Bytes: d.Bytes})
	}
	if j.Counters == nil {
		j.Counters = map[string]uint64{}
	}
	return j
}

// printStore prints the store's size against its bound, what it holds per
// destination domain, and its counters: drops and refusals by reason,
// then the others.
func printStore(w io.Writer, r protocol.MeshReport, now time.Time) {
	s := r.Store
	oldest := "-"
	if !s.Oldest.IsZero() {
		oldest = "held since " + roughDuration(now.Sub(s.Oldest)) + " ago"
	}
	full := "-"
	if s.MaxBytes > 0 {
		full = strconv.FormatFloat(100*float64(s.Bytes)/float64(s.MaxBytes), 'f', 1, 64) + "%"
	}
	printTable(w, [][]string{
		{"envelopes", strconv.Itoa(s.Envelopes)},
		{"bytes", fmt.Sprintf("%s of %s (%s full)", formatBytes(s.Bytes), formatBytes(s.MaxBytes), full)},
		{"oldest", oldest},
		{"seen ids", strconv.Itoa(s.Seen)},
	})
	if len(s.Domains) > 0 {
		rows := [][]string{{"DESTINATION", "ENVELOPES", "BYTES"}}
		domains := slices.Clone(s.Domains)
		sort.Slice(domains, func(i, j int) bool { return domains[i].Domain < domains[j].Domain }) // see sortedRoutes
		for _, d := range domains {
			rows = append(rows, []string{d.Domain, strconv.Itoa(d.Envelopes), formatBytes(d.Bytes)})
		}
		fmt.Fprintln(w)
		printTable(w, rows)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "since the node started:")
	dropped, refused, other := splitCounters(r.Counters)
	printTable(w, [][]string{
		{"  dropped", dropped},
		{"  refused", refused},
		{"  counts", other},
	})
}

// splitCounters sorts the counters into drops by reason ("dropped:<reason>"),
// refusals by reason ("refused:<reason>") and the others, each as
// "total: name n, name n", or "none".
func splitCounters(counters map[string]uint64) (dropped, refused, other string) {
	groups := map[string][]string{}
	totals := map[string]uint64{}
	for _, name := range slices.Sorted(maps.Keys(counters)) {
		group, reason, ok := strings.Cut(name, ":")
		if !ok || (group != "dropped" && group != "refused") {
			group, reason = "", name
		}
		groups[group] = append(groups[group], reason+" "+strconv.FormatUint(counters[name], 10))
		totals[group] += counters[name]
	}
	line := func(group string) string {
		if len(groups[group]) == 0 {
			return "none"
		}
		if group == "" {
			return strings.Join(groups[group], ", ")
		}
		return strconv.FormatUint(totals[group], 10) + ": " + strings.Join(groups[group], ", ")
	}
	return line("dropped"), line("refused"), line("")
}

// formatBytes writes n in B, KiB, MiB or GiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + suffix
}

// roughDuration writes d to the second below a minute, then in two units:
// 42s, 5m3s, 3h20m, 6d23h. A negative d counts as 0.
func roughDuration(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", d/time.Minute, d%time.Minute/time.Second)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
}
