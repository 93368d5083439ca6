// Command qpc is quicprochat in one binary: the node daemon that runs on a
// router (`qpc node`) and the client a person runs on a laptop.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
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
		{"account", "the account: password, logout, delete; recover it with its recovery code, or reset its key", runAccount},
		{"verify", "show the safety number with a contact; --confirm: mark it verified", runVerify},
		{"block", "block an account on every device of yours (--remove, --list)", runBlock},
		{"report", "report a message to your node's admin, encrypted to the admin", runReport},
		{"edit", "replace the text of one of your messages, on every device", runEdit},
		{"delete", "delete one of your messages from every device's history", runDelete},
		{"search", "search your conversations' history for words", runSearch},
		{"backup", "this device's whole client state in one encrypted file: create, restore", runBackup},
		{"export", "a conversation as a signed, encrypted transcript archive; export verify checks one", runExport},
		{"repl", "interactive chat: DMs, groups, channels", runRepl},
		{"group", "the members and admins of a group of qpc repl: members, promote, demote", runGroup},
		{"channel", "encrypted broadcast channels: create, join, share, send, recv, list, leave, stats", runChannel},
		{"mesh", "the mesh: nodes nearby, routes, store-and-forward (peers, route, store, track)", runMesh},
		{"kt", "key transparency: audit a node's log of keys (audit)", runKT},
		{"ca", "community certificate authority for federation: init, issue, show", runCA},
		{"admin", "manage the node on this machine: status, users, invites, drain, log (docs/admin.md)", runAdmin},
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
// instead of exiting, with a usage text headed by synopsis; parse it with
// parseFlags.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("qpc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: qpc %s %s\n\nflags:\n", name, synopsis)
		printFlags(fs.Output(), fs)
	}
	return fs
}

// printFlags lists fs's flags as people type them, --name (the flag
// package writes -name, which every doc of ours does not).
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		switch f.DefValue {
		case "", "0", "false", "0s", "[]":
		default:
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	})
}

// parseFlags parses fs from args with the flags before, between or after
// the other arguments, which fs.Args() holds afterwards in their order:
// `qpc send --to carol "text" --ttl 1h` must not send "text --ttl 1h".
// "--" ends the flags, for a text that starts with "-". A mistake is one
// line that points at --help, never the whole usage text; --help prints
// that text and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = usage }()
	var words []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			usage()
			return err
		}
		if err != nil {
			fmt.Fprintf(out, "%s: %s; see %s --help\n", fs.Name(), flagMistake(err), fs.Name())
			return err
		}
		rest := fs.Args()
		ended := len(rest) < len(args) && args[len(args)-len(rest)-1] == "--"
		if ended || len(rest) == 0 {
			words = append(words, rest...)
			break
		}
		words, args = append(words, rest[0]), rest[1:]
	}
	// Leave the words in fs.Args(): the flags are set, and a parse of
	// "--" and the words sets no more of them.
	return fs.Parse(append([]string{"--"}, words...))
}

// flagMistake says what the flag package found wrong, with flags written
// --name as everywhere else.
func flagMistake(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name + ` (for a text that starts with "-", put -- before it)`
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + name + " needs a value"
	}
	return strings.Replace(msg, "flag -", "flag --", 1)
}

// parseError turns a flag-parsing error into an exit code: --help is a
// success, anything else a usage error (parseFlags already said what was
// wrong).
func parseError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}
