package main

import (
	"strings"
	"testing"
)

// These mistakes are caught before any packet is sent.
func TestMeshCommandLineMistakesExitWithUsageCode(t *testing.T) {
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

func TestPrintTableAlignsColumns(t *testing.T) {
	var b strings.Builder
	printTable(&b, [][]string{{"A", "BB", "C"}, {"long", "x", "y"}})
	want := "A     BB  C\nlong  x   y\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
