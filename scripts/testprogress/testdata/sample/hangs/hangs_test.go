// Package hangs has a test that never ends; run it with a short -timeout.
package hangs

import (
	"testing"
	"time"
)

func TestHangs(t *testing.T) {
	t.Log("waiting forever")
	time.Sleep(time.Hour)
}
