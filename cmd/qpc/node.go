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
	cfg := config.Default()
	if err := cfg.Load(fs, args, os.LookupEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return exitOK
		}
		fmt.Fprintf(stderr, "qpc node: %v (qpc node --help lists the flags)\n", err)
		return exitUsage
	}
	log, err := app.NewLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintf(stderr, "qpc node: %v\n", err)
		return exitUsage
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
