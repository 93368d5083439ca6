// Package version reports which build of qpc is running. Version and Commit
// are stamped at link time by the Makefile:
//
//	go build -ldflags "-X github.com/quicprochat/qpc/version.Version=0.1.0 -X github.com/quicprochat/qpc/version.Commit=abc1234"
package version

import (
	"fmt"
	"runtime"
)

// Version is the release of this build, or "dev" when it was not stamped.
var Version = "dev"

// Commit is the source revision of this build, or "unknown" when it was not
// stamped.
var Commit = "unknown"

// Platform returns the "goos/goarch" the binary was built for.
func Platform() string { return runtime.GOOS + "/" + runtime.GOARCH }

// String returns the line `qpc version` prints:
// "qpc <version> (<commit>) <goos>/<goarch>".
func String() string {
	return fmt.Sprintf("qpc %s (%s) %s", Version, Commit, Platform())
}
