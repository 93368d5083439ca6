package flood

import (
	"testing"

	"github.com/quicprochat/qpc/mesh/signed/signedtest"
)

// BenchmarkPost measures Sign, Verify, ID, Marshal and Unmarshal of a post
// whose body is one Quantum: a one-line chat post, the most common size.
func BenchmarkPost(b *testing.B) { signedtest.Bench(b, format, Quantum) }
