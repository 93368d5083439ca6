package tally

import (
	"sync"
	"testing"
)

func TestConcurrentAddsAreAllCounted(t *testing.T) {
	var c Counters
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Add("a", 1)
				c.Add("b", 2)
			}
		}()
	}
	wg.Wait()
	got := c.Snapshot()
	if got["a"] != 8000 || got["b"] != 16000 {
		t.Fatalf("snapshot %v, want a=8000 b=16000", got)
	}
}

func TestNonPositiveAddsLeaveNoCounter(t *testing.T) {
	var c Counters
	c.Add("zero", 0)
	c.Add("negative", -3)
	if got := c.Snapshot(); len(got) != 0 {
		t.Fatalf("snapshot %v, want empty", got)
	}
}
