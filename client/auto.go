package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// AutoServer is the value of --server that asks the client to find a node
// on the local network instead of being told one.
const AutoServer = "auto"

// Candidate is a node found on the local network that a client could use.
type Candidate struct {
	NodeID      string
	Domain      string
	Addr        string // host:port to dial
	Fingerprint string // announced certificate fingerprint, to pin
	Interface   string // where it was found
}

func (c Candidate) String() string {
	return fmt.Sprintf("%s at %s (node id %s, fingerprint %s, via %s)", c.Domain, c.Addr, c.NodeID, c.Fingerprint, c.Interface)
}

// Resolver picks the node a client talks to when --server is auto.
type Resolver struct {
	// Browse finds nodes on the local network (with mDNS).
	Browse func(ctx context.Context) ([]Candidate, error)
	// Pin, if set, keeps only the node that announced this fingerprint.
	Pin string
	// Prompt, if not nil, is where a person answers which node to use when
	// there are several: set it only when standard input is a terminal.
	Prompt io.Reader
	// Out is told which node was chosen, and shows the list to choose
	// from (standard error).
	Out io.Writer
}

// Resolve browses and returns the node to use. One candidate is taken and
// announced on Out; several are listed and the person is asked, or, with
// no Prompt, an *AmbiguousServerError lists them. None is ErrNoNodeFound.
func (r *Resolver) Resolve(ctx context.Context) (Candidate, error) {
	found, err := r.Browse(ctx)
	if err != nil {
		return Candidate{}, fmt.Errorf("finding a node: %w", err)
	}
	var cands []Candidate
	for _, c := range found {
		if c.Addr == "" || (r.Pin != "" && !strings.EqualFold(c.Fingerprint, r.Pin)) {
			continue
		}
		cands = append(cands, c)
	}
	switch {
	case len(cands) == 0 && r.Pin != "" && len(found) > 0:
		return Candidate{}, fmt.Errorf("%w with fingerprint %s (found %d other)", ErrNoNodeFound, r.Pin, len(found))
	case len(cands) == 0:
		return Candidate{}, ErrNoNodeFound
	case len(cands) == 1:
		fmt.Fprintf(r.Out, "qpc: using node %s, found with mDNS\n", cands[0])
		return cands[0], nil
	case r.Prompt == nil:
		return Candidate{}, &AmbiguousServerError{Candidates: cands}
	}
	fmt.Fprintln(r.Out, "qpc: several nodes answered on the local network:")
	listCandidates(r.Out, cands)
	fmt.Fprintf(r.Out, "which one? [1-%d]: ", len(cands))
	line, err := bufio.NewReader(r.Prompt).ReadString('\n')
	if err != nil && line == "" {
		return Candidate{}, fmt.Errorf("no node chosen: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || n < 1 || n > len(cands) {
		return Candidate{}, fmt.Errorf("no node chosen: %q is not a number from 1 to %d", strings.TrimSpace(line), len(cands))
	}
	c := cands[n-1]
	fmt.Fprintf(r.Out, "qpc: using node %s\n", c)
	return c, nil
}

func listCandidates(w io.Writer, cands []Candidate) {
	for i, c := range cands {
		fmt.Fprintf(w, "  %d) %s\n", i+1, c)
	}
}
