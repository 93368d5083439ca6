package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Why a line of go test's output is not an event. The caller prints such
// a line as it is: go test writes a few plain lines to stdout itself.
var (
	// errNotJSON: the line is not one JSON object.
	errNotJSON = errors.New("not a JSON object")
	// errNoAction: the object has no Action, so it says nothing about a
	// test or a build.
	errNoAction = errors.New("event has no Action")
	// errNoPackage: a test event without a Package, or a build event
	// without an ImportPath, cannot be attributed to anything.
	errNoPackage = errors.New("event names no package")
	// errBadElapsed: a negative duration, which go test never writes.
	errBadElapsed = errors.New("event has a negative Elapsed")
)

// event is one line of `go test -json` (cmd/test2json's TestEvent, plus
// the build events go test adds for packages that do not build).
type event struct {
	Time        time.Time `json:",omitzero"`
	Action      string
	Package     string  `json:",omitempty"`
	Test        string  `json:",omitempty"`
	Elapsed     float64 `json:",omitempty"` // seconds
	Output      string  `json:",omitempty"`
	ImportPath  string  `json:",omitempty"` // of build-output and build-fail
	FailedBuild string  `json:",omitempty"` // on a package's fail: the build that failed
}

// isBuild reports whether e is about a build rather than a test run.
func (e event) isBuild() bool {
	return e.Action == "build-output" || e.Action == "build-fail"
}

// decodeEvent parses one line of the stream. Fields it does not know are
// ignored, so that a newer go keeps working; actions it does not know are
// returned and left to the caller.
func decodeEvent(line []byte) (event, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return event{}, errNotJSON
	}
	var e event
	if err := json.Unmarshal(line, &e); err != nil {
		return event{}, fmt.Errorf("%w: %v", errNotJSON, err)
	}
	switch {
	case e.Action == "":
		return event{}, errNoAction
	case e.isBuild() && e.ImportPath == "":
		return event{}, fmt.Errorf("%w: %s without ImportPath", errNoPackage, e.Action)
	case !e.isBuild() && e.Package == "":
		return event{}, fmt.Errorf("%w: %s without Package", errNoPackage, e.Action)
	case e.Elapsed < 0:
		return event{}, fmt.Errorf("%w: %g", errBadElapsed, e.Elapsed)
	}
	return e, nil
}
