//go:build !router

package main

// qpc kt: key transparency for people who check their node (docs/kt.md).
// Laptop build only: the auditor (the whole tree in memory, the summary,
// --json) costs the mips router binary 128 KiB of flash, and an audit is
// as good from any machine that reaches the node.

import (
	"context"
	"encoding/hex"
	"encoding/json"

	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client"
	progressbar "github.com/quicprochat/qpc/cmd/qpc/internal/progress"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/kt"
)

func runKT(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprintln(w, "usage: qpc kt audit --server HOST:PORT [--address ADDR] [--json]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  audit  download a node's whole key transparency log and verify it")
		fmt.Fprintln(w, "\nRun 'qpc kt audit --help' for its flags; docs/kt.md says what the log proves.")
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "audit" {
		return runKTAudit(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "qpc kt: unknown command %q (try: qpc kt audit)\n", args[0])
	return exitUsage
}

// auditJSON is the --json form of an audit (issue 23's contract:
// "entries", "size", "ok").
type auditJSON struct {
	OK        bool   `json:"ok"`
	Entries   uint64 `json:"entries"`
	Size      uint64 `json:"size"`
	Domain    string `json:"domain"`
	Root      string `json:"root"`
	HeadTime  int64  `json:"head_time_millis"`
	Signer    string `json:"signer"`
	Addresses int    `json:"addresses"`
	// Changes counts the entries after the first (key changes, resets,
	// deletion) of each address that has any.
	Changes     map[string]int        `json:"changes"`
	Previous    uint64                `json:"previous_size"`
	Problems    []client.AuditProblem `json:"problems"`
	ElapsedMs   int64                 `json:"elapsed_ms"`
	History     []historyJSON         `json:"history,omitempty"`
	Address     string                `json:"address,omitempty"`
	AuditedFrom string                `json:"server"`
}

// historyJSON is one entry of --address's history.
type historyJSON struct {
	Index      uint64 `json:"index"`
	Seq        uint64 `json:"seq"`
	Kind       string `json:"kind"`
	TimeMillis int64  `json:"time_millis"`
	AccountKey string `json:"account_key"`
	Keys       string `json:"keys_hash"`
}

func runKTAudit(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("kt audit", "--server HOST:PORT [--address ADDR] [--json]", stderr)
	var f clientFlags
	f.bind(fs, stderr, false)
	fs.Lookup("server").Usage += " (default: the node of the current account)"
	address := fs.String("address", "", "print the history of this account (user@domain) in the log")
	asJSON := fs.Bool("json", false, "print the result as JSON: at least \"entries\", \"size\" and \"ok\"")
	stateDir := fs.String("state-dir", client.DefaultStateDir(), "where the head of each node's last audit is kept")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qpc kt audit: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc kt audit", err)
		return exitUsage
	}
	if !f.serverOfCurrentAccount(*stateDir) {
		fmt.Fprintln(stderr, "qpc kt audit: --server is required (no current account to take the node from)")
		return exitUsage
	}
	addr := strings.ToLower(*address)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dctx, cancel := context.WithTimeout(ctx, f.timeout)
	c, err := f.dial(dctx, f.server)
	cancel()
	if err != nil {
		printErr(stderr, "qpc kt audit", err)
		return exitFailure
	}
	defer c.Close()
	a := &client.Auditor{Client: c, Dir: *stateDir}
	// A bar on a terminal only: scripts and --json pipelines get the
	// summary alone.
	bar := progressbar.New(stderr, "qpc kt audit:", false)
	if bar.Terminal() {
		a.Progress = func(done, total uint64) { bar.Update(int64(done), int64(total), 0, 0) }
	}
	start := time.Now()
	r, err := a.Run(ctx)
	bar.Done()
	if r == nil {
		printErr(stderr, "qpc kt audit", err)
		return exitFailure
	}
	elapsed := time.Since(start)
	if *asJSON {
		out := auditJSON{OK: err == nil && r.OK(), Entries: r.Entries, Size: r.Head.Size, Domain: r.Head.Domain,
			Root: r.Head.Root.String(), HeadTime: r.Head.TimeMillis, Signer: signerOf(r.Head), Addresses: len(r.Addresses),
			Changes: map[string]int{}, Previous: r.Previous, Problems: r.Problems, ElapsedMs: elapsed.Milliseconds(),
			Address: addr, AuditedFrom: c.Addr()}
		if out.Problems == nil {
			out.Problems = []client.AuditProblem{}
		}
		for a, h := range r.Addresses {
			if len(h) > 1 {
				out.Changes[a] = len(h) - 1
			}
		}
		for _, e := range r.Addresses[addr] {
			out.History = append(out.History, historyJSON{Index: e.Index, Seq: e.Seq, Kind: e.Kind.String(), TimeMillis: e.TimeMillis,
				AccountKey: hex.EncodeToString(e.AccountKey), Keys: e.Keys.String()})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		printAudit(stdout, r, addr, elapsed)
	}
	if err != nil {
		if !*asJSON {
			printErr(stderr, "qpc kt audit", err)
		}
		return exitFailure
	}
	if addr != "" && len(r.Addresses[addr]) == 0 {
		fmt.Fprintf(stderr, "qpc kt audit: %s has no entry in the log of %s\n", termtext.Safe(addr), termtext.Safe(r.Head.Domain))
		return exitFailure
	}
	return exitOK
}

// signerOf names who signed a head, for the summary.
func signerOf(sh kt.SignedHead) string {
	key, err := sh.PublicKey()
	if err != nil {
		return "?"
	}
	if sh.Kind == kt.SignerCertificate {
		return "federation certificate, key " + hex.EncodeToString(key)
	}
	return "node key " + hex.EncodeToString(key)
}

// printAudit prints the summary of an audit: the head, the counts, the
// addresses with the most key changes, the problems, and with addr that
// account's history.
func printAudit(w io.Writer, r *client.AuditReport, addr string, elapsed time.Duration) {
	sh := r.Head
	fmt.Fprintf(w, "log of       %s\n", termtext.Safe(sh.Domain))
	fmt.Fprintf(w, "head         size %d, root %s, signed %s\n", sh.Size, sh.Root, time.UnixMilli(sh.TimeMillis).UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "signer       %s\n", signerOf(sh))
	fmt.Fprintf(w, "entries      %d verified in %s\n", r.Entries, elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "addresses    %d\n", len(r.Addresses))
	if r.Previous > 0 {
		fmt.Fprintf(w, "last audit   size %d\n", r.Previous)
	}
	// Key changes per address: how many addresses changed how often,
	// then the ten that changed most.
	byCount := map[int]int{}
	type changed struct {
		addr string
		n    int
	}
	var most []changed
	for a, h := range r.Addresses {
		byCount[len(h)-1]++
		if len(h) > 1 {
			most = append(most, changed{a, len(h) - 1})
		}
	}
	counts := make([]int, 0, len(byCount))
	for n := range byCount {
		counts = append(counts, n)
	}
	sort.Ints(counts)
	rows := [][]string{{"key changes", "addresses"}}
	for _, n := range counts {
		rows = append(rows, []string{fmt.Sprint(n), fmt.Sprint(byCount[n])})
	}
	fmt.Fprintln(w)
	termtext.Table(w, rows)
	if len(most) > 0 {
		sort.Slice(most, func(i, j int) bool {
			if most[i].n != most[j].n {
				return most[i].n > most[j].n
			}
			return most[i].addr < most[j].addr
		})
		rows = [][]string{{"address", "key changes"}}
		for _, m := range most[:min(10, len(most))] {
			rows = append(rows, []string{m.addr, fmt.Sprint(m.n)})
		}
		fmt.Fprintln(w)
		termtext.Table(w, rows)
	}
	if addr != "" {
		fmt.Fprintf(w, "\nhistory of %s\n", termtext.Safe(addr))
		rows = [][]string{{"index", "seq", "kind", "time", "account key", "keys hash"}}
		for _, e := range r.Addresses[addr] {
			ak := "(none)"
			if len(e.AccountKey) > 0 {
				ak = hex.EncodeToString(e.AccountKey)[:16]
			}
			rows = append(rows, []string{fmt.Sprint(e.Index), fmt.Sprint(e.Seq), e.Kind.String(),
				time.UnixMilli(e.TimeMillis).UTC().Format(time.RFC3339), ak, e.Keys.String()[:16]})
		}
		termtext.Table(w, rows)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "\n%s:\n", termtext.Plural(len(r.Problems), "PROBLEM"))
		rows = [][]string{{"index", "address", "what"}}
		for _, p := range r.Problems {
			idx := "-"
			if p.Index >= 0 {
				idx = fmt.Sprint(p.Index)
			}
			rows = append(rows, []string{idx, p.Address, p.Reason})
		}
		termtext.Table(w, rows)
		return
	}
	fmt.Fprintln(w, "\nok: every entry verified against the signed head")
}
