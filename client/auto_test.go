package client

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

var (
	candA = Candidate{NodeID: "a", Domain: "a.mesh", Addr: "192.0.2.1:7000", Fingerprint: fpA, Interface: "eth0"}
	candB = Candidate{NodeID: "b", Domain: "b.mesh", Addr: "192.0.2.2:7000", Fingerprint: fpB, Interface: "eth0"}
)

func found(cs ...Candidate) func(context.Context) ([]Candidate, error) {
	return func(context.Context) ([]Candidate, error) { return cs, nil }
}

func TestAutoTakesTheOnlyNodeAndSaysWhichItChose(t *testing.T) {
	var out bytes.Buffer
	r := &Resolver{Browse: found(candA), Out: &out}
	c, err := r.Resolve(context.Background())
	if err != nil || c != candA {
		t.Fatalf("Resolve = %+v, %v", c, err)
	}
	if !strings.Contains(out.String(), "using node a.mesh at 192.0.2.1:7000") || !strings.Contains(out.String(), fpA) {
		t.Errorf("told %q", out.String())
	}
}

func TestAutoWithSeveralNodesAsksAPersonOrListsThem(t *testing.T) {
	var out bytes.Buffer
	r := &Resolver{Browse: found(candA, candB), Out: &out, Prompt: strings.NewReader("2\n")}
	c, err := r.Resolve(context.Background())
	if err != nil || c != candB {
		t.Fatalf("Resolve after answering 2 = %+v, %v", c, err)
	}
	if !strings.Contains(out.String(), "1) a.mesh") || !strings.Contains(out.String(), "2) b.mesh") {
		t.Errorf("the prompt did not list both: %q", out.String())
	}

	r = &Resolver{Browse: found(candA, candB), Out: &out, Prompt: strings.NewReader("7\n")}
	if _, err := r.Resolve(context.Background()); err == nil || !strings.Contains(err.Error(), "from 1 to 2") {
		t.Errorf("an answer out of range: %v", err)
	}

	r = &Resolver{Browse: found(candA, candB), Out: &out}
	_, err = r.Resolve(context.Background())
	var ae *AmbiguousServerError
	if !errors.As(err, &ae) || len(ae.Candidates) != 2 {
		t.Fatalf("without a terminal: err = %v, want an *AmbiguousServerError", err)
	}
	if !strings.Contains(err.Error(), "a.mesh") || !strings.Contains(err.Error(), "b.mesh") {
		t.Errorf("the error does not list the nodes: %v", err)
	}
}

func TestAutoWithAPinKeepsOnlyThatNode(t *testing.T) {
	var out bytes.Buffer
	r := &Resolver{Browse: found(candA, candB), Out: &out, Pin: fpB}
	if c, err := r.Resolve(context.Background()); err != nil || c != candB {
		t.Fatalf("Resolve = %+v, %v", c, err)
	}
	r = &Resolver{Browse: found(candA), Out: &out, Pin: fpB}
	if _, err := r.Resolve(context.Background()); !errors.Is(err, ErrNoNodeFound) {
		t.Errorf("no node with the pin: err = %v", err)
	}
}

func TestAutoWithNoNodeSaysHowToGoOn(t *testing.T) {
	r := &Resolver{Browse: found(), Out: &bytes.Buffer{}}
	if _, err := r.Resolve(context.Background()); !errors.Is(err, ErrNoNodeFound) || !strings.Contains(err.Error(), "--server") {
		t.Errorf("err = %v", err)
	}
}
