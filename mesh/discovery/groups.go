package discovery

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
)

// A responder on the same host that turns multicast loopback off, as
// OpenWrt's umdns does, never lets its queries reach this node: started
// after the node, it would not learn of the node until some other host's
// query made the node answer by multicast. What such a responder cannot
// hide is joining the mDNS group on an interface, which the kernel counts
// per socket in /proc/net/igmp and /proc/net/igmp6. The node reads those
// counts with its interface checks and announces again on an interface
// whose count rose: a new mDNS socket there is listening.

// maxGroupUsers bounds a count read from /proc, so that sums cannot
// overflow; a real count is a handful.
const maxGroupUsers = 1 << 20

// groupUsers is how many sockets joined the mDNS groups on each interface,
// by interface index: [0] for 224.0.0.251, [1] for ff02::fb.
type groupUsers map[int][2]int

// parseIGMP reads /proc/net/igmp: a line per interface ("<index>\t<name>
// : <count> <querier>"), then an indented line per group ("<group hex>
// <users> <timer> <reporter>"). The kernel prints the group's four bytes
// as a 32-bit number in host order, so on a little-endian router
// 224.0.0.251 is FB0000E0 and on a big-endian one (mips) E00000FB; both
// are accepted. Lines it cannot read are skipped.
func parseIGMP(b []byte, into groupUsers) {
	idx := -1
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			// An interface line, or the header (whose index is no
			// number, so its groups are skipped).
			n, err := strconv.Atoi(f[0])
			if err != nil {
				n = -1
			}
			idx = n
			continue
		}
		if idx < 0 || len(f[0]) != 8 {
			continue
		}
		g, err := strconv.ParseUint(f[0], 16, 32)
		if err != nil || (g != 0xfb0000e0 && g != 0xe00000fb) {
			continue
		}
		users, err := strconv.Atoi(f[1])
		if err != nil || users < 0 || users > maxGroupUsers || into[idx][0] > maxGroupUsers {
			continue
		}
		c := into[idx]
		c[0] += users
		into[idx] = c
	}
}

// parseIGMP6 reads /proc/net/igmp6: a line per group and interface
// ("<index> <name> <group, 32 hex digits> <users> <flags> <timer>").
// Lines it cannot read are skipped.
func parseIGMP6(b []byte, into groupUsers) {
	want := hex.EncodeToString(group6.AsSlice())
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.EqualFold(f[2], want) {
			continue
		}
		idx, err1 := strconv.Atoi(f[0])
		users, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || idx < 0 || users < 0 || users > maxGroupUsers || into[idx][1] > maxGroupUsers {
			continue
		}
		c := into[idx]
		c[1] += users
		into[idx] = c
	}
}

// joinedMore reports whether now shows more sockets in a group on an
// interface than before did; an interface before did not know is new,
// and its first count is only a baseline.
func joinedMore(before, now [2]int) bool {
	return now[0] > before[0] || now[1] > before[1]
}
