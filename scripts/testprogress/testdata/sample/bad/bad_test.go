// Package bad has a test that passes and one whose subtest fails.
package bad

import "testing"

func TestFine(t *testing.T) { t.Log("output of a passing test") }

func TestBroken(t *testing.T) {
	t.Log("context before the failure")
	t.Run("inner", func(t *testing.T) { t.Errorf("got %d, want %d", 1, 2) })
}
