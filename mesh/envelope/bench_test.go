package envelope

import (
	"testing"

	"github.com/quicprochat/qpc/mesh/signed/signedtest"
)

// BenchmarkEnvelope measures Sign, Verify, ID, Marshal and Unmarshal of an
// envelope with a 1 KiB payload, a typical sealed chat message with its
// HPKE and sealed-sender overhead.
func BenchmarkEnvelope(b *testing.B) { signedtest.Bench(b, format, 1024) }
