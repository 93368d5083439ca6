// Testprogress runs `go test -json` and prints what a person waiting on
// the whole suite needs to see, as it happens:
//
//   - each package as it finishes: ok, FAIL or skip, and its time;
//   - each top-level test that took longer than -slow (5 s) when it ends,
//     with its result, so that a package of long process tests shows
//     life long before it finishes;
//   - every -heartbeat (20 s), what still runs: the packages and their
//     longest running tests;
//   - for a failed test, at once, its line and its whole output (a panic's
//     trace among it); for a failed package, what no test line explained:
//     its own output (a TestMain that gave up) and that of the tests that
//     did not end (a timeout's goroutine dump); for a failed build, the
//     compiler's or vet's message;
//   - at the end, a summary and the list of what failed.
//
// Usage:
//
//	go run ./scripts/testprogress [-C dir] [-slow 5s] [-heartbeat 20s] [-go go] -- [go test flags] [packages]
//
// Its exit status is go test's: non-zero on a failed test, build or vet,
// and also when go test's output ends with a package still running. It
// is the formatter of `make test`; go test buffers nothing with -json, so
// the lines come as the tests end.
//
// The decoder takes one line of the stream at a time; a line that is not
// an event (go test writes some to stdout itself) is printed as it is.
package main
