package main

import (
	"fmt"
	"io"

	"github.com/quicprochat/qpc/version"
)

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", stderr)
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	fmt.Fprintln(stdout, version.String())
	return exitOK
}
