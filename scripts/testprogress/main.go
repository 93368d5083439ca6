package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the command line, runs go test -json with the arguments
// after the flags, and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testprogress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	goCmd := fs.String("go", "go", "the go command to run")
	dir := fs.String("C", ".", "run go test in this directory (a module's root)")
	slow := fs.Duration("slow", 5*time.Second, "print a line for each top-level test that takes at least this long")
	every := fs.Duration("heartbeat", 20*time.Second, "print what still runs this often")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: testprogress [-C dir] [-slow 5s] [-heartbeat 20s] [-go go] -- [go test flags] [packages]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *every <= 0 || *slow < 0 {
		fmt.Fprintln(stderr, "testprogress: -heartbeat must be positive and -slow not negative")
		return 2
	}

	cmd := exec.Command(*goCmd, append([]string{"test", "-json"}, fs.Args()...)...)
	cmd.Dir = *dir
	cmd.Stderr = stderr // build errors outside the JSON stream, go: downloading, ...
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stderr, "testprogress: %v\n", err)
		return 1
	}
	// Ctrl-C reaches go test too; keep reading so that what it prints on
	// its way out (the tests that were running) is shown.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "testprogress: %v\n", err)
		return 1
	}
	rep := newReport(stdout, *slow, modulePath(filepath.Join(*dir, "go.mod")), time.Now())
	readErr := follow(pipe, rep, *every)
	return rep.finish(time.Now(), cmd.Wait(), readErr)
}

// follow feeds rep the lines of r as they come, and a heartbeat every
// interval, until r ends. It returns an error only when reading fails.
func follow(r io.Reader, rep *report, every time.Duration) error {
	lines := make(chan []byte)
	done := make(chan error, 1)
	go func() {
		br := bufio.NewReader(r) // no line length limit: a test may print a long one
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				lines <- line
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				done <- err
				close(lines)
				return
			}
		}
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return <-done
			}
			rep.line(line, time.Now())
		case now := <-tick.C:
			rep.heartbeat(now)
		}
	}
}

// modulePath returns the module path in the go.mod file at path, or ""
// when there is none: package names are then shown whole.
func modulePath(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
