//go:build !linux

package discovery

// readGroupUsers knows no group memberships off Linux: a node there does
// not see another responder join (groups.go), which matters only on a
// router beside umdns.
func readGroupUsers() groupUsers { return nil }
