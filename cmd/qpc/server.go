package main

import (
	"context"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/mesh/discovery"
)

// autoBrowseTimeout bounds the search for a node with --server auto;
// autoSettle ends it early once nodes answered and no new one came.
const (
	autoBrowseTimeout = 3 * time.Second
	autoSettle        = 500 * time.Millisecond
)

// resolveServer turns the --server value of any client command into the
// address to dial. For "auto" it finds a node with mDNS, says on stderr
// which one it chose (asking when several answer and stdin is a terminal),
// and returns the fingerprint that node announced, to pin; pin, if given,
// keeps only the node with that fingerprint. Any other value is returned
// as it is, with pin.
func resolveServer(ctx context.Context, server, pin string, stderr io.Writer) (addr, pinOut string, err error) {
	if server != client.AutoServer {
		return server, pin, nil
	}
	r := &client.Resolver{Browse: browseCandidates, Pin: pin, Out: stderr}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		r.Prompt = os.Stdin
	}
	c, err := r.Resolve(ctx)
	if err != nil {
		return "", "", err
	}
	return c.Addr, c.Fingerprint, nil
}

func browseCandidates(ctx context.Context) ([]client.Candidate, error) {
	peers, _, err := discovery.Browse(ctx, discovery.BrowseConfig{Timeout: autoBrowseTimeout, Settle: autoSettle})
	if err != nil {
		return nil, err
	}
	out := make([]client.Candidate, 0, len(peers))
	for _, p := range peers {
		out = append(out, client.Candidate{
			NodeID: p.ID, Domain: p.Domain, Addr: p.DialAddr(), Fingerprint: p.Fingerprint, Interface: p.Interface,
		})
	}
	return out, nil
}

// resolveAuto replaces --server auto by the address of a node found with
// mDNS and, unless --ca-cert is given, pins the fingerprint that node
// announced. Every later dial of the command goes to that node.
func (f *clientFlags) resolveAuto(ctx context.Context) error {
	if f.server != client.AutoServer {
		return nil
	}
	addr, pin, err := resolveServer(ctx, f.server, f.pin, f.stderr)
	if err != nil {
		return err
	}
	f.server = addr
	if f.caCert == "" {
		f.pin = pin
	}
	return nil
}
