// Package panics has a test that panics.
package panics

import "testing"

func TestOK(t *testing.T) {}

func TestPanics(t *testing.T) {
	t.Log("about to panic")
	var m map[string]int
	m["x"] = 1
}
