//go:build !qpc_test_ksf

package opaque

// CheapForTests reports whether this build's DefaultArgon2id is the cheap
// one of the test suite. It is false in every build but the tests' (see
// ksf_testbuild.go).
const CheapForTests = false
