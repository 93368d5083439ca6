package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// These mistakes are caught before any packet is sent.
func TestMeshCommandLineMistakesExitWithUsageCode(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // no current account
	pin := strings.Repeat("a", 64)
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{"mesh without a subcommand", []string{"mesh"}, "qpc mesh peers"},
		{"an unknown mesh subcommand", []string{"mesh", "route66"}, `unknown command "route66"`},
		{"an interface that does not exist", []string{"mesh", "peers", "--iface", "nope0"}, "nope0"},
		{"a timeout of zero", []string{"mesh", "peers", "--timeout", "0s"}, "--timeout"},
		{"a stray argument", []string{"mesh", "peers", "extra"}, `unexpected argument "extra"`},
		{"a route with a stray argument", []string{"mesh", "route", "--server", "h:1", "--pin", pin, "extra"}, `unexpected argument "extra"`},
		{"a route without a server or a current account", []string{"mesh", "route"}, "--server is required"},
		{"a store with both pin and CA", []string{"mesh", "store", "--server", "h:1", "--pin", pin, "--ca-cert", "x"}, "not both"},
		{"a track without an id", []string{"mesh", "track"}, "no message id"},
		{"a track id that is not hex", []string{"mesh", "track", "--server", "h:1", "nothex"}, `"nothex" is not a message id (64 hex digits`},
		{"a track id that is too short", []string{"mesh", "track", strings.Repeat("ab", 31), "--json"}, "64 hex digits"},
		{"a send with more hops than a byte holds", []string{"send", "--to", "bob", "--max-hops", "256", "hi"}, "--max-hops 256"},
		{"node mDNS interfaces without --mdns", []string{"node", "--mdns-iface", "lo"}, "--mdns-iface"},
		{"a node mDNS interface that does not exist", []string{"node", "--mdns", "--mdns-iface", "nope0"}, "nope0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runQPC(tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.mention) {
				t.Errorf("exit %d, stderr %q; want %d and a mention of %q", code, stderr, exitUsage, tt.mention)
			}
		})
	}
}

// A node answers meshState without a login and messageStatus only with
// one; an id it does not know is unknown, whether or not it runs
// store-and-forward.
func TestMeshCommandsAgainstARunningNode(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	code, out, stderr := runQPC("mesh", "route", "--server", p.addr, "--pin", p.fp, "--json")
	var routes []meshRouteJSON
	if code != exitOK || json.Unmarshal([]byte(out), &routes) != nil || len(routes) != 0 {
		t.Errorf("mesh route --json of a node without federation: %d %q %q, want []", code, out, stderr)
	}
	code, out, stderr = runQPC("mesh", "store", "--server", p.addr, "--pin", p.fp, "--json")
	var store meshStoreJSON
	if code != exitOK || json.Unmarshal([]byte(out), &store) != nil || store.Envelopes != 0 || store.Domains == nil {
		t.Errorf("mesh store --json of a fresh node: %d %q %q", code, out, stderr)
	}

	c := dialPinned(t, p.addr, p.fp)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.MessageStatus(ctx, []protocol.MeshID{{1}}); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Errorf("messageStatus without a login: %v, want unauthenticated", err)
	}

	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("password of alice\n"), 0o600)
	account := []string{"--password-file", pw, "--state-dir", dir}
	if code, out, stderr := runQPC(append([]string{"register", "--server", p.addr, "--pin", p.fp, "--username", "alice"}, account...)...); code != exitOK {
		t.Fatalf("register: %d %q %q", code, out, stderr)
	}
	id := strings.Repeat("5a", 32)
	code, out, stderr = runQPC(append([]string{"mesh", "track", id, "--json"}, account...)...)
	var st meshStatusJSON
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.ID != id || st.State != "unknown" {
		t.Errorf("mesh track of an id never sent: %d %q %q, want state unknown", code, out, stderr)
	}
	code, out, stderr = runQPC(append([]string{"mesh", "track", id}, account...)...)
	if code != exitOK || !strings.Contains(out, "unknown") || !strings.Contains(stderr, "no such message of yours") {
		t.Errorf("mesh track as a table: %d %q %q", code, out, stderr)
	}
}

func TestPrintTableAlignsColumns(t *testing.T) {
	var b strings.Builder
	printTable(&b, [][]string{{"A", "BB", "C"}, {"long", "x", "y"}})
	want := "A     BB  C\nlong  x   y\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
