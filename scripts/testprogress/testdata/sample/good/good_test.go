// Package good passes: a quick test, a slow parallel one, subtests and a
// skip.
package good

import (
	"testing"
	"time"
)

func TestQuick(t *testing.T) { t.Log("a log line nobody needs to see") }

func TestSlow(t *testing.T) {
	t.Parallel()
	time.Sleep(1200 * time.Millisecond)
}

func TestTable(t *testing.T) {
	for _, n := range []string{"one", "two"} {
		t.Run(n, func(t *testing.T) {})
	}
}

func TestSkipped(t *testing.T) { t.Skip("needs a thing") }
