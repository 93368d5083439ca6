//go:build !router

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/internal/qrterm"
)

// verifyJSON is what `qpc verify --json` prints.
type verifyJSON struct {
	Contact      string `json:"contact"`
	SafetyNumber string `json:"safety_number"`
	// Verified is true when the user confirmed this number (and the key
	// has not changed since).
	Verified bool `json:"verified"`
	// KeyChanged is true when the contact was verified under another
	// key: sending to them is refused until --confirm.
	KeyChanged bool `json:"key_changed"`
}

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", "NAME [--confirm] [--json]\n\n"+
		"Prints the safety number of your account and NAME's (made of the two account keys), and whether you verified it.\n"+
		"Compare it with NAME in person or on a call; when it matches, run again with --confirm. A contact you verified\n"+
		"whose key changes gets nothing from you until you confirm the new number.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	confirm := fs.Bool("confirm", false, "mark NAME verified with the key it publishes now (you compared the number)")
	asJSON := fs.Bool("json", false, "print the number and the state as JSON")
	// NAME may come before, between or after the flags, as people write
	// it: the flags after it are parsed too.
	var names []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return parseError(err)
		}
		if fs.NArg() == 0 {
			break
		}
		names, args = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc verify", err)
		return exitUsage
	}
	if len(names) != 1 {
		fmt.Fprintf(stderr, "qpc verify: give one NAME (got %d)\n", len(names))
		return exitUsage
	}
	name := names[0]
	name = strings.TrimPrefix(name, "@")
	if name == "" {
		fmt.Fprintln(stderr, "qpc verify: NAME is required")
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc verify", err)
		return exitFailure
	}
	defer s.Close()
	eng, err := s.OpenChat(nil)
	if err != nil {
		printErr(stderr, "qpc verify", err)
		return exitFailure
	}
	defer eng.Close()
	number, ct, err := eng.SafetyNumber(ctx, name)
	if err != nil {
		printErr(stderr, "qpc verify", err)
		return exitFailure
	}
	addr := ct.Address
	if addr == "" {
		addr = name
	}
	if *confirm {
		if err := eng.Verify(ctx, name); err != nil {
			printErr(stderr, "qpc verify", err)
			return exitFailure
		}
		ct.Verified, ct.KeyChanged = true, false
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(verifyJSON{Contact: addr, SafetyNumber: number, Verified: ct.Verified && !ct.KeyChanged, KeyChanged: ct.KeyChanged})
		return exitOK
	}
	if err := printVerify(stdout, addr, number, ct.Verified, ct.KeyChanged, *confirm); err != nil {
		printErr(stderr, "qpc verify", err)
		return exitFailure
	}
	return exitOK
}

// printVerify shows the safety number with addr as the REPL's /verify
// does: digits (termtext.SafetyNumber), a QR code, and the state.
func printVerify(w io.Writer, addr, number string, verified, changed, confirmed bool) error {
	safe := termtext.Safe(addr)
	if changed {
		fmt.Fprintf(w, "WARNING: THE ACCOUNT KEY OF %s HAS CHANGED SINCE YOU VERIFIED IT.\n"+
			"Someone may be impersonating them, or they reset their account. Nothing is sent to them until you compare\n"+
			"the new safety number below with them and confirm it: qpc verify %s --confirm\n", strings.ToUpper(safe), safe)
	}
	fmt.Fprintf(w, "safety number with %s:\n%s", safe, termtext.SafetyNumber(number))
	if err := qrterm.Write(w, number); err != nil {
		return err
	}
	switch {
	case confirmed:
		fmt.Fprintf(w, "%s is verified: you compared the safety number\n", safe)
	case verified && !changed:
		fmt.Fprintln(w, "verified")
	case !changed:
		fmt.Fprintf(w, "not verified: compare the number with %s in person or on a call, then qpc verify %s --confirm\n", safe, safe)
	}
	return nil
}
