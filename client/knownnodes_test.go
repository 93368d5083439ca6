package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	fpA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	fpB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestKnownNodesTrustsOnFirstUseThenHoldsToIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qpc", "known_nodes")
	var warned []string
	k := &KnownNodes{Path: path, Warn: func(server, fp string) { warned = append(warned, server) }}

	if err := k.Check("n1:7000", fpA); err != nil {
		t.Fatalf("first contact: %v", err)
	}
	if err := k.Check("n1:7000", fpA); err != nil {
		t.Fatalf("second contact: %v", err)
	}
	if err := k.Check("n2:7000", fpB); err != nil {
		t.Fatalf("another node: %v", err)
	}
	if strings.Join(warned, ",") != "n1:7000,n2:7000" {
		t.Errorf("warned about %v, want each new node once", warned)
	}
	err := k.Check("n1:7000", fpB)
	var ce *KnownNodeChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("changed certificate: err = %v", err)
	}
	if ce.Line != 1 || ce.Known != fpA || ce.Presented != fpB {
		t.Errorf("error = %+v", ce)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("known nodes file: %v %v", fi.Mode(), err)
	}
}

func TestKnownNodesReportsAMalformedLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_nodes")
	os.WriteFile(path, []byte("# comment\n\nn1:7000 "+fpA+"\nn2:7000\n"), 0o600)
	k := &KnownNodes{Path: path}
	err := k.Check("n3:7000", fpA)
	if !errors.Is(err, ErrBadKnownNodes) || !strings.Contains(err.Error(), ":4:") {
		t.Errorf("err = %v, want ErrBadKnownNodes at line 4", err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "n3:7000") {
		t.Error("a node was recorded in a file that could not be read")
	}
}

// FuzzKnownNodesFile reads arbitrary known-nodes files: never a panic, and
// a file that cannot be read never gets a line added.
func FuzzKnownNodesFile(f *testing.F) {
	f.Add("n1:7000 " + fpA + "\n# comment\n\n")
	f.Add("n1:7000\n")
	f.Add("n1:7000 zz\n")
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "known_nodes")
		os.WriteFile(path, []byte(content), 0o600)
		k := &KnownNodes{Path: path}
		if err := k.Check("fuzz:1", fpB); err != nil {
			if data, _ := os.ReadFile(path); string(data) != content {
				t.Error("a file that could not be read was changed")
			}
		}
	})
}
