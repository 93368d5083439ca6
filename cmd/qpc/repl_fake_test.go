package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/quicprochat/qpc/cmd/qpc/internal/repl"
	"github.com/quicprochat/qpc/cmd/qpc/internal/repl/repltest"
)

// fakeReplEnv makes TestMain run the REPL on the terminal with the
// in-memory engine instead of the tests, so that tmux tests can drive the
// real terminal UI without a node (the engine has its own tests).
const fakeReplEnv = "QPC_TEST_FAKE_REPL"

// runFakeRepl is the REPL of alice@a.example on stdin and stdout, with an
// in-memory engine whose DMs echo.
func runFakeRepl() int {
	eng := repltest.New("alice@a.example")
	eng.Echo = time.Second
	lio, err := repl.NewLineIO(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitFailure
	}
	defer lio.Close()
	if err := repl.New(repl.Config{Engine: eng, Label: repltest.Label, IO: lio}).Run(context.Background()); err != nil {
		lio.Close()
		fmt.Fprintln(os.Stderr, err)
		return exitFailure
	}
	return exitOK
}
