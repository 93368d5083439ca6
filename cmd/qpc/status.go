package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/transport"
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
}

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", "--server HOST:PORT [--pin SHA256HEX | --ca-cert FILE] [--json]", stderr)
	server := fs.String("server", "", "node address, host:port, or auto to find one with mDNS (required)")
	pin := fs.String("pin", "", "expected SHA-256 fingerprint of the node's certificate, hex")
	caCert := fs.String("ca-cert", "", "PEM file of CA certificates the node's certificate must chain to")
	knownNodes := fs.String("known-nodes", client.DefaultKnownNodesPath(),
		"trust-on-first-use record, used when neither --pin nor --ca-cert is given")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	switch {
	case *server == "":
		fmt.Fprintln(stderr, "qpc status: --server is required")
		return exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "qpc status: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *pin != "" && *caCert != "":
		fmt.Fprintln(stderr, "qpc status: give --pin or --ca-cert, not both")
		return exitUsage
	case *timeout <= 0:
		fmt.Fprintln(stderr, "qpc status: --timeout must be positive")
		return exitUsage
	}
	if *pin != "" {
		if _, err := transport.ParseFingerprint(*pin); err != nil {
			fmt.Fprintf(stderr, "qpc status: --pin: %v\n", err)
			return exitUsage
		}
	}
	if *server == client.AutoServer {
		addr, announced, err := resolveServer(context.Background(), *server, *pin, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "qpc status: %v\n", err)
			return exitFailure
		}
		*server = addr
		if *caCert == "" {
			*pin = announced // pin what the node announced
		}
	}
	trust := transport.Trust{Pin: *pin, CAFile: *caCert}
	if *pin == "" && *caCert == "" {
		kn := &client.KnownNodes{Path: *knownNodes, Warn: func(server, fp string) {
			fmt.Fprintf(stderr, "qpc: WARNING: first contact with %s; trusting its certificate %s from now on (recorded in %s). "+
				"Compare the fingerprint with the one the node's admin gives you, or use --pin.\n", server, fp, *knownNodes)
		}}
		trust.TOFU = func(fp string) error { return kn.Check(*server, fp) }
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c, err := client.Dial(ctx, *server, trust, nil)
	if errors.Is(err, client.ErrNoAnswer) {
		err = fmt.Errorf("%w within %s", err, *timeout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "qpc status: %v\n", err)
		return exitFailure
	}
	defer c.Close()
	h, err := c.Health(ctx)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%s: %w within %s", *server, client.ErrNoAnswer, *timeout)
		}
		fmt.Fprintf(stderr, "qpc status: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(statusJSON{
			Server: c.Addr(), Fingerprint: c.Fingerprint(), NodeID: h.NodeID, Domain: h.Domain,
			Version: h.Version, Commit: h.Commit, Platform: h.Platform, UptimeMillis: h.Uptime.Milliseconds(),
		})
		return exitOK
	}
	fmt.Fprintf(stdout, "server       %s\n", c.Addr())
	fmt.Fprintf(stdout, "node id      %s\n", h.NodeID)
	fmt.Fprintf(stdout, "domain       %s\n", h.Domain)
	fmt.Fprintf(stdout, "version      qpc %s (%s) %s\n", h.Version, h.Commit, h.Platform)
	fmt.Fprintf(stdout, "uptime       %s\n", h.Uptime.Truncate(time.Second))
	fmt.Fprintf(stdout, "fingerprint  %s\n", c.Fingerprint())
	return exitOK
}
