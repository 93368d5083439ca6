package main

// An mDNS stand-in that the namespace tests run as a process of its own
// (the test binary, re-executed with mdnsHelperEnv): a responder that
// answers the way OpenWrt's umdns or the npm bonjour-service does, or a
// querier that counts the answers its one query gets on the wire. It
// speaks DNS through golang.org/x/net/dns/dnsmessage, not through
// mesh/discovery, so that the node is checked against code that is not
// its own.
//
// Building the real umdns in CI would need libubox, ubus and json-c built
// from source with cmake (Debian packages none of them), and CI cannot
// fetch their sources: the stand-in copies what matters of umdns's
// behaviour, read from its source (openwrt/mdnsd, dns.c and service.c):
//   - it announces no service unsolicited; at start it probes its host
//     name (three queries 250 ms apart), waits 500 ms, and announces its
//     service types (_services._dns-sd._udp PTR records), on both families;
//   - it answers a query for a service's PTR with the PTR, SRV and TXT in
//     one packet, id 0, without address records;
//   - a question with the unicast-response bit gets its answer by unicast
//     to the querier's address and port, whatever the port; any other by
//     multicast, and then at most once a minute per service;
//   - an instance name with dots is written as dot-split labels;
//   - its sockets turn multicast loopback off, so processes on its own
//     host never hear what it sends.
// bonjour-service answers every query by multicast, id 0.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// mdnsHelperEnv makes the test binary an mDNS stand-in (runMDNSHelper)
// instead of running tests; it holds a mdnsHelperConfig as JSON.
const mdnsHelperEnv = "QPC_TEST_MDNS_HELPER"

// mdnsHelperConfig says what the stand-in does.
type mdnsHelperConfig struct {
	// Mode: "umdns" or "bonjour" (a responder), or "count" (one query,
	// then count the answers).
	Mode  string `json:"mode"`
	Iface string `json:"iface"`
	// Responders: the instance they publish, its port and TXT strings.
	Instance string   `json:"instance,omitempty"`
	Port     uint16   `json:"port,omitempty"`
	TXT      []string `json:"txt,omitempty"`
	// Count: how long the link must be quiet (no mDNS response heard)
	// before the query, so that no responder's rate limit still holds
	// from earlier traffic; how long to count answers after the query.
	QuietMillis  int `json:"quiet_ms,omitempty"`
	WindowMillis int `json:"window_ms,omitempty"`
}

// mdnsHelperLine is one line the stand-in prints on stdout, as JSON.
type mdnsHelperLine struct {
	Event string `json:"event"` // ready, answered, heard, count
	// answered: how (unicast, multicast) and on which family; heard: the
	// instance a response it heard carried, and its sender.
	How      string `json:"how,omitempty"`
	Family   int    `json:"family,omitempty"`
	Instance string `json:"instance,omitempty"`
	From     string `json:"from,omitempty"`
	// answer (count mode): one answer to its query, of Size bytes, heard
	// At.
	Size int    `json:"size,omitempty"`
	At   string `json:"at,omitempty"`
	// count: answers to its query per family and their sizes.
	V4    int   `json:"v4,omitempty"`
	V6    int   `json:"v6,omitempty"`
	Sizes []int `json:"sizes,omitempty"`
}

const qpcService = "_quicprochat._udp.local."

var (
	mdnsGroup4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	mdnsGroup6 = &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: 5353}
)

// helperConn is one family's socket on UDP 5353, shared with the
// responders of the host.
type helperConn struct {
	family int
	c4     *ipv4.PacketConn
	c6     *ipv6.PacketConn
	ifi    *net.Interface
}

func listenHelper(family int, ifi *net.Interface, loop bool) (*helperConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		return serr
	}}
	h := &helperConn{family: family, ifi: ifi}
	if family == 4 {
		pc, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:5353")
		if err != nil {
			return nil, err
		}
		h.c4 = ipv4.NewPacketConn(pc)
		for _, err := range []error{h.c4.JoinGroup(ifi, mdnsGroup4), h.c4.SetMulticastInterface(ifi),
			h.c4.SetMulticastLoopback(loop), h.c4.SetMulticastTTL(255), h.c4.SetControlMessage(ipv4.FlagInterface, true)} {
			if err != nil {
				return nil, err
			}
		}
		return h, nil
	}
	pc, err := lc.ListenPacket(context.Background(), "udp6", "[::]:5353")
	if err != nil {
		return nil, err
	}
	h.c6 = ipv6.NewPacketConn(pc)
	for _, err := range []error{h.c6.JoinGroup(ifi, mdnsGroup6), h.c6.SetMulticastInterface(ifi),
		h.c6.SetMulticastLoopback(loop), h.c6.SetMulticastHopLimit(255), h.c6.SetControlMessage(ipv6.FlagInterface, true)} {
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

func (h *helperConn) read(b []byte) (int, netip.AddrPort, error) {
	var n int
	var from net.Addr
	var err error
	if h.c4 != nil {
		n, _, from, err = h.c4.ReadFrom(b)
	} else {
		n, _, from, err = h.c6.ReadFrom(b)
	}
	var src netip.AddrPort
	if ua, ok := from.(*net.UDPAddr); ok {
		src = ua.AddrPort()
	}
	return n, src, err
}

// send sends b to dst, or to the family's mDNS group when dst is not
// valid.
func (h *helperConn) send(b []byte, dst netip.AddrPort) error {
	var err error
	if h.c4 != nil {
		to := mdnsGroup4
		if dst.IsValid() {
			to = net.UDPAddrFromAddrPort(dst)
		}
		_, err = h.c4.WriteTo(b, &ipv4.ControlMessage{IfIndex: h.ifi.Index}, to)
	} else {
		to := &net.UDPAddr{IP: mdnsGroup6.IP, Port: 5353, Zone: h.ifi.Name}
		if dst.IsValid() {
			to = net.UDPAddrFromAddrPort(dst)
		}
		_, err = h.c6.WriteTo(b, &ipv6.ControlMessage{IfIndex: h.ifi.Index}, to)
	}
	return err
}

func runMDNSHelper() int {
	var cfg mdnsHelperConfig
	if err := json.Unmarshal([]byte(os.Getenv(mdnsHelperEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "mdns helper: bad config:", err)
		return 2
	}
	ifi, err := net.InterfaceByName(cfg.Iface)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mdns helper:", err)
		return 2
	}
	// umdns turns multicast loopback off; the others leave it on.
	loop := cfg.Mode != "umdns"
	var conns []*helperConn
	for _, fam := range []int{4, 6} {
		c, err := listenHelper(fam, ifi, loop)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mdns helper: IPv%d: %v\n", fam, err)
			return 1
		}
		conns = append(conns, c)
	}
	out := json.NewEncoder(os.Stdout)
	lines := make(chan mdnsHelperLine, 64)
	for _, c := range conns {
		go serveHelper(cfg, c, lines)
	}
	out.Encode(mdnsHelperLine{Event: "ready"})
	if cfg.Mode == "umdns" {
		go umdnsStartup(conns, lines)
	}
	if cfg.Mode == "count" {
		return countAnswers(cfg, conns, lines, out)
	}
	for l := range lines {
		out.Encode(l)
	}
	return 0
}

// countAnswers sends one query for the qpc service on both families and
// counts, for the window, the responses that answer a query (the PTR
// alone in the answer section, the rest as additional records), as
// opposed to announcements (every record an answer).
func countAnswers(cfg mdnsHelperConfig, conns []*helperConn, lines <-chan mdnsHelperLine, out *json.Encoder) int {
	quiet := time.Duration(cfg.QuietMillis) * time.Millisecond
	for t := time.NewTimer(quiet); ; {
		select {
		case <-lines:
			t.Reset(quiet) // a response: the link is not quiet yet
			continue
		case <-t.C:
		}
		break
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(qpcService), Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET})
	q, err := b.Finish()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mdns helper:", err)
		return 1
	}
	for _, c := range conns {
		if err := c.send(q, netip.AddrPort{}); err != nil {
			fmt.Fprintln(os.Stderr, "mdns helper: sending the query:", err)
			return 1
		}
	}
	total := mdnsHelperLine{Event: "count"}
	end := time.After(time.Duration(cfg.WindowMillis) * time.Millisecond)
	for {
		select {
		case l := <-lines:
			if l.Event != "answer" {
				continue
			}
			out.Encode(l) // each on its own, for a failing test to show
			if l.Family == 4 {
				total.V4++
			} else {
				total.V6++
			}
			total.Sizes = append(total.Sizes, l.Size)
		case <-end:
			out.Encode(total)
			return 0
		}
	}
}

// serveHelper reads one socket: it reports the qpc instances of the
// responses it hears, answers queries for the service as its mode says,
// and in count mode reports the answers to queries.
func serveHelper(cfg mdnsHelperConfig, c *helperConn, lines chan<- mdnsHelperLine) {
	buf := make([]byte, 9000)
	var lastMulticast time.Time
	for {
		n, src, err := c.read(buf)
		if err != nil {
			return
		}
		// Responses are read by helperRecords: dnsmessage refuses the
		// node's instance label, which holds dots (RFC 6763 §4.3).
		resp, answers, extra, err := helperRecords(buf[:n])
		if err != nil {
			continue
		}
		if resp {
			if cfg.Mode == "count" {
				lines <- mdnsHelperLine{Event: "response"}
				if len(answers) == 1 && answers[0].typ == uint16(dnsmessage.TypePTR) && len(extra) > 0 &&
					strings.EqualFold(answers[0].name, qpcService) {
					lines <- mdnsHelperLine{Event: "answer", Family: c.family, From: src.String(), Size: n,
						At: time.Now().Format("15:04:05.000")}
				}
				continue
			}
			for _, r := range append(answers, extra...) {
				if r.typ == uint16(dnsmessage.TypeTXT) && r.ttl > 0 && strings.HasSuffix(strings.ToLower(r.name), "."+qpcService) {
					lines <- mdnsHelperLine{Event: "heard", Instance: strings.TrimSuffix(r.name, "."+qpcService), From: src.String()}
				}
			}
			continue
		}
		var p dnsmessage.Parser
		if _, err := p.Start(buf[:n]); err != nil {
			continue
		}
		if cfg.Mode == "count" {
			continue
		}
		qs, err := p.AllQuestions()
		if err != nil {
			continue
		}
		for _, q := range qs {
			if !strings.EqualFold(q.Name.String(), qpcService) || (q.Type != dnsmessage.TypePTR && q.Type != dnsmessage.TypeALL) {
				continue
			}
			resp, err := helperAnswer(cfg)
			if err != nil {
				fmt.Fprintln(os.Stderr, "mdns helper:", err)
				return
			}
			unicast := cfg.Mode == "umdns" && q.Class&(1<<15) != 0
			switch {
			case unicast:
				c.send(resp, src)
				lines <- mdnsHelperLine{Event: "answered", How: "unicast", Family: c.family, From: src.String()}
			case cfg.Mode == "umdns" && time.Since(lastMulticast) < time.Minute:
				// umdns's service_timeout: one multicast answer a
				// minute per service.
			default:
				lastMulticast = time.Now()
				c.send(resp, netip.AddrPort{})
				lines <- mdnsHelperLine{Event: "answered", How: "multicast", Family: c.family, From: src.String()}
			}
		}
	}
}

// umdnsStartup sends what umdns sends when it starts (announce.c): three
// probes for its host name, 250 ms apart, then, 500 ms after the last, its
// service types.
func umdnsStartup(conns []*helperConn, lines chan<- mdnsHelperLine) {
	host := dnsmessage.MustNewName("standin.local.")
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: host, Type: dnsmessage.TypeALL, Class: dnsmessage.ClassINET})
	probe, _ := b.Finish()
	b = dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true, Authoritative: true})
	b.StartAnswers()
	b.PTRResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("_services._dns-sd._udp.local."), Class: dnsmessage.ClassINET, TTL: 4500},
		dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(qpcService)})
	types, _ := b.Finish()
	for i := range 3 {
		if i > 0 {
			time.Sleep(250 * time.Millisecond) // umdns's timing, not a wait for readiness
		}
		for _, c := range conns {
			c.send(probe, netip.AddrPort{})
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, c := range conns {
		c.send(types, netip.AddrPort{})
	}
	lines <- mdnsHelperLine{Event: "announced"}
}

// helperAnswer is the response a stand-in sends: PTR, SRV and TXT, id 0,
// no address records, the instance's dots splitting it into labels.
func helperAnswer(cfg mdnsHelperConfig) ([]byte, error) {
	svc := dnsmessage.MustNewName(qpcService)
	inst, err := dnsmessage.NewName(cfg.Instance + "." + qpcService)
	if err != nil {
		return nil, err
	}
	host := dnsmessage.MustNewName("standin.local.")
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true, Authoritative: true})
	b.EnableCompression()
	b.StartAnswers()
	hdr := func(n dnsmessage.Name) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: n, Class: dnsmessage.ClassINET, TTL: 120}
	}
	if err := b.PTRResource(hdr(svc), dnsmessage.PTRResource{PTR: inst}); err != nil {
		return nil, err
	}
	if err := b.SRVResource(hdr(inst), dnsmessage.SRVResource{Port: cfg.Port, Target: host}); err != nil {
		return nil, err
	}
	if err := b.TXTResource(hdr(inst), dnsmessage.TXTResource{TXT: cfg.TXT}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// helperRR is what the stand-in reads of a resource record.
type helperRR struct {
	name string // labels joined with dots, ending in a dot
	typ  uint16
	ttl  uint32
}

// helperRecords reads a DNS message's answer and additional records,
// bounds-checked, without judging the labels.
func helperRecords(b []byte) (response bool, answers, additionals []helperRR, err error) {
	errShort := fmt.Errorf("short packet")
	if len(b) < 12 {
		return false, nil, nil, errShort
	}
	u16 := func(off int) int { return int(b[off])<<8 | int(b[off+1]) }
	name := func(off int) (string, int, error) {
		var labels []string
		end, jumps := -1, 0
		for {
			if off >= len(b) {
				return "", 0, errShort
			}
			c := int(b[off])
			switch {
			case c == 0:
				if end < 0 {
					end = off + 1
				}
				return strings.Join(labels, ".") + ".", end, nil
			case c&0xc0 == 0xc0:
				if off+1 >= len(b) || jumps > 20 {
					return "", 0, errShort
				}
				if end < 0 {
					end = off + 2
				}
				off, jumps = (c&0x3f)<<8|int(b[off+1]), jumps+1
			default:
				if off+1+c > len(b) {
					return "", 0, errShort
				}
				labels = append(labels, string(b[off+1:off+1+c]))
				off += 1 + c
			}
		}
	}
	qd, an, ns, ar := u16(4), u16(6), u16(8), u16(10)
	off := 12
	for range qd {
		_, end, err := name(off)
		if err != nil {
			return false, nil, nil, err
		}
		off = end + 4
	}
	var all []helperRR
	for range an + ns + ar {
		n, end, err := name(off)
		if err != nil || end+10 > len(b) {
			return false, nil, nil, errShort
		}
		rr := helperRR{name: n, typ: uint16(u16(end)), ttl: uint32(u16(end+4))<<16 | uint32(u16(end+6))}
		off = end + 10 + u16(end+8)
		if off > len(b) {
			return false, nil, nil, errShort
		}
		all = append(all, rr)
	}
	return b[2]&0x80 != 0, all[:an], all[an+ns:], nil
}
