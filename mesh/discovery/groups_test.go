package discovery

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// What /proc/net/igmp prints on a little-endian router (x86, most arm), on
// a big-endian one (mips), and /proc/net/igmp6.
const (
	igmpLE = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n" +
		"1\tlo        :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n" +
		"4\tbr-lan    :     3      V3\n\t\t\t\tFB0000E0     2 0:00000000\t\t0\n\t\t\t\t010000E0     1 0:00000000\t\t0\n"
	igmpBE = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n" +
		"7\teth0      :     2      V3\n\t\t\t\tE00000FB     3 0:00000000\t\t0\n\t\t\t\tE0000001     1 0:00000000\t\t0\n"
	igmp6 = "1    lo              ff020000000000000000000000000001     1 0000000C 0\n" +
		"4    br-lan          ff0200000000000000000000000000fb     2 00000004 0\n" +
		"4    br-lan          ff020000000000000000000000000001     1 0000000C 0\n"
)

func TestGroupMembershipsAreReadInEitherByteOrder(t *testing.T) {
	u := groupUsers{}
	parseIGMP([]byte(igmpLE), u)
	parseIGMP([]byte(igmpBE), u)
	parseIGMP6([]byte(igmp6), u)
	want := groupUsers{4: {2, 2}, 7: {3, 0}}
	if len(u) != len(want) || u[4] != want[4] || u[7] != want[7] {
		t.Errorf("users = %v, want %v", u, want)
	}
	if !joinedMore([2]int{2, 2}, [2]int{2, 3}) || joinedMore([2]int{2, 2}, [2]int{1, 2}) {
		t.Error("joinedMore misjudges a join or a leave")
	}
}

func TestWhenAnotherSocketJoinsTheNodeAnnouncesAgain(t *testing.T) {
	var logs bytes.Buffer
	s := socketless(t, &logs)
	now := time.Now()
	s.noteGroups(groupUsers{7: {1, 1}}, now) // the node's own sockets: a baseline
	if s.ifaces[7].announceLeft != 0 {
		t.Fatal("the first count made the node announce")
	}
	s.noteGroups(groupUsers{7: {1, 1}}, now)
	s.noteGroups(groupUsers{7: {1, 0}}, now) // a socket left
	if s.ifaces[7].announceLeft != 0 {
		t.Fatal("an unchanged count or a leave made the node announce")
	}
	s.noteGroups(groupUsers{7: {2, 0}}, now) // umdns joined
	if s.ifaces[7].announceLeft != 1 || !strings.Contains(logs.String(), "joined the mDNS group") {
		t.Errorf("announcements due %d after a socket joined, want 1; logs:\n%s", s.ifaces[7].announceLeft, logs.String())
	}
	s.ifaces[7].announceLeft = 0
	s.startProbing(now, 0)
	s.noteGroups(groupUsers{7: {3, 0}}, now)
	if s.ifaces[7].announceLeft != 0 {
		t.Error("a probing node announced a name it has not claimed")
	}
}

// FuzzGroupUsers feeds arbitrary text to the /proc parsers: they may skip
// lines, never panic or count negative users.
func FuzzGroupUsers(f *testing.F) {
	f.Add([]byte(igmpLE))
	f.Add([]byte(igmpBE))
	f.Add([]byte(igmp6))
	f.Fuzz(func(t *testing.T, b []byte) {
		u := groupUsers{}
		parseIGMP(b, u)
		parseIGMP6(b, u)
		for idx, c := range u {
			if c[0] < 0 || c[1] < 0 {
				t.Fatalf("interface %d: negative users %v", idx, c)
			}
		}
	})
}
