//go:build router

package main

import (
	"fmt"
	"io"
)

// The router build (go build -tags router, as scripts/cross/build.sh makes
// it for the .ipk) carries the node and the admin's commands only: every
// byte of it costs a router's flash (DESIGN §1, §8). The commands a person
// runs on a laptop are left out with the chat client, the MLS engine, the
// REPL and the load generator behind them; each says so and names the
// other build.

// inThisBuild reports whether a command is in this binary.
func inThisBuild(name string) bool { return !laptopOnly[name] }

var laptopOnly = map[string]bool{
	"register": true, "login": true, "whoami": true, "send": true, "recv": true, "verify": true,
	"device": true, "account": true, "backup": true, "export": true, "group": true, "block": true, "report": true,
	"repl": true, "channel": true, "bench": true, "mesh track": true, "kt": true,
	"edit": true, "delete": true, "search": true,
}

func notInRouterBuild(name string) func([]string, io.Writer, io.Writer) int {
	return func(_ []string, _, stderr io.Writer) int {
		fmt.Fprintf(stderr, "qpc %s: not in this build: this is the router build of qpc (node and admin commands only); "+
			"%s is in the laptop build (`make build`, or `go build ./cmd/qpc`)\n", name, name)
		return exitUsage
	}
}

var (
	runRegister  = notInRouterBuild("register")
	runLogin     = notInRouterBuild("login")
	runWhoami    = notInRouterBuild("whoami")
	runSend      = notInRouterBuild("send")
	runRecv      = notInRouterBuild("recv")
	runVerify    = notInRouterBuild("verify")
	runDevice    = notInRouterBuild("device")
	runAccount   = notInRouterBuild("account")
	runBackup    = notInRouterBuild("backup")
	runExport    = notInRouterBuild("export")
	runRepl      = notInRouterBuild("repl")
	runGroup     = notInRouterBuild("group")
	runChannel   = notInRouterBuild("channel")
	runBench     = notInRouterBuild("bench")
	runMeshTrack = notInRouterBuild("mesh track")
	runKT        = notInRouterBuild("kt")
	runBlock     = notInRouterBuild("block")
	runReport    = notInRouterBuild("report")
	runEdit      = notInRouterBuild("edit")
	runDelete    = notInRouterBuild("delete")
	runSearch    = notInRouterBuild("search")
)
