// Command qpc is quicprochat in one binary: the node daemon that runs on a
// router (`qpc node`) and the client a person runs on a laptop.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line was wrong
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"node", "run a node: serve clients over QUIC", runNode},
		{"status", "ask a node for its health", runStatus},
		{"register", "create an account on a node", runRegister},
		{"login", "log in on a machine that is a device of the account", runLogin},
		{"whoami", "show the current account", runWhoami},
		{"send", "send an end-to-end encrypted message", runSend},
		{"recv", "receive messages (--follow to keep listening)", runRecv},
		{"device", "this account's devices: link, approve, list, remove", runDevice},
		{"account", "recover the account with its recovery code, or reset its key", runAccount},
		{"verify", "show the safety number with a contact; --confirm: mark it verified", runVerify},
		{"repl", "interactive chat: DMs, groups, channels", runRepl},
		{"channel", "encrypted broadcast channels: create, join, share, send, recv, list, leave, stats", runChannel},
		{"mesh", "the mesh: nodes nearby, routes, store-and-forward (peers, route, store, track)", runMesh},
		{"ca", "community certificate authority for federation: init, issue, show", runCA},
		{"bench", "load a node: throughput and latency of enqueue → push", runBench},
		{"version", "print the version of this binary", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	case "-version", "--version":
		return runVersion(nil, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "qpc: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "qpc: end-to-end encrypted messaging for community mesh networks")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: qpc <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		if !inThisBuild(c.name) {
			fmt.Fprintf(w, "  %-8s (laptop build only) %s\n", c.name, c.summary)
			continue
		}
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'qpc <command> --help' for a command's flags.")
}

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting, with a usage text headed by synopsis.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("qpc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: qpc %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseError turns a flag-parsing error into an exit code: --help is a
// success, anything else a usage error (the flag package already said
// what was wrong).
func parseError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}
