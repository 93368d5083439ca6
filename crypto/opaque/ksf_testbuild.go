//go:build qpc_test_ksf

package opaque

// CheapForTests is true in builds with the tag qpc_test_ksf, which only
// `make test` uses: the tests' accounts then stretch passwords with a
// cost of microseconds instead of qpc's 64 MiB, three-pass Argon2id. Two
// thirds of the CPU of cmd/qpc's process tests went into Argon2id, and
// none of them tests it: the Argon2id tests of this package use explicit
// parameters, and TestTheDefaultCostIsCheapOnlyInTheTestBuild checks that
// no other build selects this file.
const CheapForTests = true
