//go:build !router

package main

import (
	"flag"
	"io"
	"testing"
)

// TestPQOnlyFlagAndItsEnvironmentTwin checks that every command with
// account flags takes --pq-only, that QPC_PQ_ONLY=1 sets it, and that the
// flag wins over the environment.
func TestPQOnlyFlagAndItsEnvironmentTwin(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want bool
	}{
		{"off by default", "", nil, false},
		{"on by the flag", "", []string{"--pq-only"}, true},
		{"on by the environment", "1", nil, true},
		{"off by the flag over the environment", "1", []string{"--pq-only=false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("QPC_PQ_ONLY", tc.env)
			var f clientFlags
			fs := flag.NewFlagSet("repl", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.bind(fs, io.Discard, true)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if f.pqOnly != tc.want {
				t.Errorf("pqOnly %v, want %v", f.pqOnly, tc.want)
			}
		})
	}
	// Commands without an account (qpc status) have no such flag.
	var f clientFlags
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.bind(fs, io.Discard, false)
	if fs.Lookup("pq-only") != nil {
		t.Error("--pq-only on a command without an account")
	}
}
