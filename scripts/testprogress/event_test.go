package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDecodeEventReadsTestAndBuildEvents(t *testing.T) {
	e, err := decodeEvent([]byte(`{"Time":"2026-12-06T22:20:38.608455977Z","Action":"pass","Package":"example.com/sample/good","Test":"TestSlow","Elapsed":1.2,"NewField":true}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := event{Time: time.Date(2026, 12, 6, 22, 20, 38, 608455977, time.UTC), Action: "pass",
		Package: "example.com/sample/good", Test: "TestSlow", Elapsed: 1.2}
	if !e.Time.Equal(want.Time) || e.Action != want.Action || e.Package != want.Package || e.Test != want.Test || e.Elapsed != want.Elapsed {
		t.Errorf("got %+v, want %+v", e, want)
	}
	b, err := decodeEvent([]byte(`{"ImportPath":"example.com/sample/broken [example.com/sample/broken.test]","Action":"build-fail"}`))
	if err != nil || !b.isBuild() || b.ImportPath != "example.com/sample/broken [example.com/sample/broken.test]" {
		t.Errorf("build-fail: %+v %v", b, err)
	}
}

func TestDecodeEventRefusesWhatIsNotAnEvent(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       error
	}{
		{"an empty line", "", errNotJSON},
		{"a line of go's own", "go: downloading example.com/x v1.0.0", errNotJSON},
		{"a JSON array", `["pass"]`, errNotJSON},
		{"a cut-off object", `{"Action":"pass","Package":"p"`, errNotJSON},
		{"an Action of the wrong type", `{"Action":1,"Package":"p"}`, errNotJSON},
		{"a Time that is no time", `{"Time":"yesterday","Action":"run","Package":"p"}`, errNotJSON},
		{"no Action", `{"Package":"p","Output":"x\n"}`, errNoAction},
		{"a test event without a package", `{"Action":"run","Test":"TestX"}`, errNoPackage},
		{"a build event without an import path", `{"Action":"build-output","Package":"p","Output":"x"}`, errNoPackage},
		{"a negative Elapsed", `{"Action":"pass","Package":"p","Elapsed":-1}`, errBadElapsed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := decodeEvent([]byte(tc.line))
			if !errors.Is(err, tc.want) {
				t.Errorf("decodeEvent(%q) = %+v, %v; want %v", tc.line, e, err, tc.want)
			}
		})
	}
}

// FuzzDecodeEvent: no line makes the decoder or the report panic, and an
// event it accepts survives encoding and decoding again unchanged.
func FuzzDecodeEvent(f *testing.F) {
	streams, err := filepath.Glob("testdata/streams/*.jsonl")
	if err != nil || len(streams) == 0 {
		f.Fatalf("no recorded streams: %v", err)
	}
	for _, s := range streams {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		for line := range bytes.Lines(data) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"Action":"pause","Package":"p","Test":"TestNeverRan"}`))
	f.Add([]byte(`{"Action":"fail","Package":"p","Test":"TestA/sub","Elapsed":1e308}`))
	f.Add([]byte(`{"Action":"fail","Package":"p","FailedBuild":"q [p.test]"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var out bytes.Buffer
		rep := newReport(&out, time.Second, "example.com/sample", start)
		rep.line(line, start) // must not panic, event or not
		rep.heartbeat(start.Add(time.Minute))
		rep.finish(start.Add(time.Minute), nil, nil)

		e, err := decodeEvent(line)
		if err != nil {
			return
		}
		if e.Action == "" || e.Elapsed < 0 || (e.isBuild() && e.ImportPath == "") || (!e.isBuild() && e.Package == "") {
			t.Fatalf("accepted an event without what it needs: %+v", e)
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("encoding %+v: %v", e, err)
		}
		e2, err := decodeEvent(again)
		if err != nil {
			t.Fatalf("%s, from %q, no longer decodes: %v", again, line, err)
		}
		if !e2.Time.Equal(e.Time) {
			t.Fatalf("time %v became %v", e.Time, e2.Time)
		}
		e2.Time = e.Time
		if e2 != e {
			t.Fatalf("%+v became %+v", e, e2)
		}
	})
}
