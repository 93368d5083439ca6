package discovery

import "os"

// readGroupUsers reads the mDNS group memberships of this network
// namespace; nil when /proc says nothing.
func readGroupUsers() groupUsers {
	u := groupUsers{}
	if b, err := os.ReadFile("/proc/net/igmp"); err == nil {
		parseIGMP(b, u)
	}
	if b, err := os.ReadFile("/proc/net/igmp6"); err == nil {
		parseIGMP6(b, u)
	}
	if len(u) == 0 {
		return nil
	}
	return u
}
