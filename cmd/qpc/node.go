package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/quicprochat/qpc/app"
	"github.com/quicprochat/qpc/config"
)

func runNode(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("node", "[flags]", stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: qpc node [flags]\n\n"+
			"Runs a node. Every flag has an environment twin (shown with it); a flag\n"+
			"on the command line wins over its environment variable.\n\nflags:\n")
		fs.PrintDefaults()
	}
	// A bad value is one line in the log (logd on a router keeps what
	// procd's respawns print), not the usage text: the flag package's
	// own report goes nowhere, and the error is printed once below.
	fs.SetOutput(io.Discard)
	// Not a config.Node setting: what the init script runs as root before
	// it starts anything, so that `service qpc start` shows a bad value.
	check := fs.Bool("check", false, "check that every flag and QPC_* value is of its type and exit: nothing printed and status 0, else the error and status 2 (interfaces and files are looked at when the node starts)")
	cfg := config.Default()
	load := cfg.Load
	if hasCheckFlag(args) {
		load = cfg.Parse
	}
	if err := load(fs, args, os.LookupEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return exitOK
		}
		fmt.Fprintf(stderr, "qpc node: %s (qpc node --help lists the flags)\n", sayError(err))
		return exitUsage
	}
	log, err := app.NewLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		printErr(stderr, "qpc node", err)
		return exitUsage
	}
	if *check {
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := app.NewNode(cfg, log)
	if err != nil {
		log.Error("cannot start node", "err", err)
		return exitFailure
	}
	if err := n.Run(ctx); err != nil {
		log.Error("node failed", "err", err)
		return exitFailure
	}
	return exitOK
}

// hasCheckFlag reports whether args ask for --check, which decides how
// much is checked before the flag set has parsed them.
func hasCheckFlag(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-check", "--check", "-check=true", "--check=true", "-check=1", "--check=1":
			return true
		}
	}
	return false
}
