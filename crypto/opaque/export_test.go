package opaque

// CopyServerState returns an unspent copy of st, so that a benchmark can
// time ServerFinish alone instead of a whole login per iteration.
func CopyServerState(st *ServerState) *ServerState {
	c := *st
	return &c
}
