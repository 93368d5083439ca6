package discovery

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// DNS record types and classes used by mDNS service discovery.
const (
	typeA    uint16 = 1
	typePTR  uint16 = 12
	typeTXT  uint16 = 16
	typeAAAA uint16 = 28
	typeSRV  uint16 = 33
	typeANY  uint16 = 255

	classIN  uint16 = 1
	classANY uint16 = 255
	// classTopBit is the cache-flush bit of a record's class in a response
	// and the unicast-response (QU) bit of a question's class (RFC 6762
	// §10.2, §5.4).
	classTopBit uint16 = 0x8000

	flagResponse uint16 = 0x8000 // QR
	flagAuth     uint16 = 0x0400 // AA
	opcodeMask   uint16 = 0x7800
	rcodeMask    uint16 = 0x000f

	maxNameLen  = 255 // wire length of a name, RFC 1035 §3.1
	maxLabelLen = 63
	maxPointers = 32 // compression pointers followed in one name
	headerLen   = 12
	// maxRecords bounds how many questions and records a message may claim,
	// so that a small hostile packet cannot make us allocate much.
	maxRecords = 512
)

// name is a domain name as its labels, without the empty root label. Labels
// are bytes: DNS-SD instance names may hold dots and spaces (RFC 6763 §4.3).
type name []string

func parseName(s string) name {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

// equal compares names as DNS does: ASCII case-insensitively.
func (n name) equal(o name) bool {
	if len(n) != len(o) {
		return false
	}
	for i := range n {
		if !strings.EqualFold(n[i], o[i]) {
			return false
		}
	}
	return true
}

// key is a canonical form of n for maps: lowercase labels joined by a byte
// that cannot be confused with label content boundaries.
func (n name) key() string {
	var b strings.Builder
	for _, l := range n {
		b.WriteByte(byte(len(l)))
		b.WriteString(strings.ToLower(l))
	}
	return b.String()
}

// String renders n for logs, escaping dots inside labels.
func (n name) String() string {
	var b strings.Builder
	for _, l := range n {
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(l, `\`, `\\`), ".", `\.`))
		b.WriteByte('.')
	}
	if b.Len() == 0 {
		return "."
	}
	return b.String()
}

// question is one entry of a message's question section.
type question struct {
	Name  name
	Type  uint16
	Class uint16 // without the QU bit
	QU    bool   // the querier asks for a unicast response
}

// record is a resource record. Only the rdata of A, AAAA, PTR, SRV and TXT
// records is decoded; other types keep their raw rdata.
type record struct {
	Name  name
	Type  uint16
	Class uint16 // without the cache-flush bit
	Flush bool   // cache-flush bit
	TTL   uint32

	Target   name       // PTR, SRV
	Port     uint16     // SRV
	Priority uint16     // SRV
	Weight   uint16     // SRV
	Text     []string   // TXT: its character-strings
	Addr     netip.Addr // A, AAAA
	Raw      []byte     // any other type
}

// message is a DNS message as mDNS uses it.
type message struct {
	ID          uint16
	Flags       uint16
	Questions   []question
	Answers     []record
	Authorities []record
	Additionals []record
}

func (m *message) isResponse() bool { return m.Flags&flagResponse != 0 }

// records returns every record of the answer, authority and additional
// sections.
func (m *message) records() []record {
	all := make([]record, 0, len(m.Answers)+len(m.Authorities)+len(m.Additionals))
	all = append(all, m.Answers...)
	all = append(all, m.Authorities...)
	return append(all, m.Additionals...)
}

// decoder reads a DNS message with bounds checks everywhere.
type decoder struct {
	msg []byte
	off int
}

func (d *decoder) u16() (uint16, error) {
	if d.off+2 > len(d.msg) {
		return 0, errTruncated
	}
	v := binary.BigEndian.Uint16(d.msg[d.off:])
	d.off += 2
	return v, nil
}

func (d *decoder) u32() (uint32, error) {
	if d.off+4 > len(d.msg) {
		return 0, errTruncated
	}
	v := binary.BigEndian.Uint32(d.msg[d.off:])
	d.off += 4
	return v, nil
}

// name reads a possibly compressed name at d.off. A compression pointer
// must point strictly before the place it is read from, which rules out
// loops; the number of pointers is bounded as well.
func (d *decoder) name() (name, error) {
	n, end, err := readName(d.msg, d.off)
	if err != nil {
		return nil, err
	}
	d.off = end
	return n, nil
}

func readName(msg []byte, off int) (n name, end int, err error) {
	end = -1
	wire := 1 // the root label
	for ptrs := 0; ; {
		if off >= len(msg) {
			return nil, 0, errTruncated
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off + 1
				}
				return n, end, nil
			}
			if off+1+c > len(msg) {
				return nil, 0, errTruncated
			}
			wire += 1 + c
			if wire > maxNameLen {
				return nil, 0, errNameTooLong
			}
			n = append(n, string(msg[off+1:off+1+c]))
			off += 1 + c
		case 0xc0:
			if off+2 > len(msg) {
				return nil, 0, errTruncated
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			if ptr >= off {
				return nil, 0, errBadPointer
			}
			if ptrs++; ptrs > maxPointers {
				return nil, 0, errBadPointer
			}
			if end < 0 {
				end = off + 2
			}
			off = ptr
		default:
			return nil, 0, errBadLabel
		}
	}
}

// decodeMessage parses a DNS message. It never panics and returns an error
// wrapping ErrMalformed for anything it cannot read.
func decodeMessage(b []byte) (*message, error) {
	m, err := decodeMessageRaw(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return m, nil
}

func decodeMessageRaw(b []byte) (*message, error) {
	if len(b) < headerLen {
		return nil, errTruncated
	}
	d := &decoder{msg: b}
	var m message
	m.ID, _ = d.u16()
	m.Flags, _ = d.u16()
	var counts [4]uint16
	total := 0
	for i := range counts {
		counts[i], _ = d.u16()
		total += int(counts[i])
	}
	if total > maxRecords {
		return nil, errTooManyRecords
	}
	// A question takes at least 5 bytes and a record at least 11: a count
	// the packet cannot hold is rejected before allocating for it.
	if int(counts[0])*5+(total-int(counts[0]))*11 > len(b)-headerLen {
		return nil, errTruncated
	}
	if counts[0] > 0 {
		m.Questions = make([]question, 0, counts[0])
	}
	for range counts[0] {
		n, err := d.name()
		if err != nil {
			return nil, err
		}
		t, err := d.u16()
		if err != nil {
			return nil, err
		}
		c, err := d.u16()
		if err != nil {
			return nil, err
		}
		m.Questions = append(m.Questions, question{Name: n, Type: t, Class: c &^ classTopBit, QU: c&classTopBit != 0})
	}
	for i, dst := range []*[]record{&m.Answers, &m.Authorities, &m.Additionals} {
		for range counts[i+1] {
			r, err := d.record()
			if err != nil {
				return nil, err
			}
			*dst = append(*dst, r)
		}
	}
	return &m, nil
}

func (d *decoder) record() (record, error) {
	var r record
	var err error
	if r.Name, err = d.name(); err != nil {
		return r, err
	}
	if r.Type, err = d.u16(); err != nil {
		return r, err
	}
	c, err := d.u16()
	if err != nil {
		return r, err
	}
	r.Class, r.Flush = c&^classTopBit, c&classTopBit != 0
	if r.TTL, err = d.u32(); err != nil {
		return r, err
	}
	rdlen, err := d.u16()
	if err != nil {
		return r, err
	}
	start, end := d.off, d.off+int(rdlen)
	if end > len(d.msg) {
		return r, errTruncated
	}
	rdata := d.msg[start:end]
	switch r.Type {
	case typeA:
		if len(rdata) != 4 {
			return r, errBadRData
		}
		r.Addr = netip.AddrFrom4([4]byte(rdata))
	case typeAAAA:
		if len(rdata) != 16 {
			return r, errBadRData
		}
		r.Addr = netip.AddrFrom16([16]byte(rdata))
	case typePTR:
		n, nend, err := readName(d.msg[:end], start)
		if err != nil {
			return r, err
		}
		if nend != end {
			return r, errBadRData
		}
		r.Target = n
	case typeSRV:
		if len(rdata) < 7 {
			return r, errBadRData
		}
		r.Priority = binary.BigEndian.Uint16(rdata)
		r.Weight = binary.BigEndian.Uint16(rdata[2:])
		r.Port = binary.BigEndian.Uint16(rdata[4:])
		n, nend, err := readName(d.msg[:end], start+6)
		if err != nil {
			return r, err
		}
		if nend != end {
			return r, errBadRData
		}
		r.Target = n
	case typeTXT:
		for i := 0; i < len(rdata); {
			l := int(rdata[i])
			if i+1+l > len(rdata) {
				return r, errBadRData
			}
			r.Text = append(r.Text, string(rdata[i+1:i+1+l]))
			i += 1 + l
		}
	default:
		r.Raw = rdata
	}
	d.off = end
	return r, nil
}

// encoder writes a DNS message with name compression.
type encoder struct {
	b    []byte
	comp map[string]int // name.key() of a suffix → its offset
}

func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

func (e *encoder) name(n name) error {
	wire := 1
	for _, l := range n {
		wire += 1 + len(l)
	}
	if wire > maxNameLen {
		return errNameTooLong
	}
	for i := range n {
		suffix := n[i:]
		k := suffix.key()
		if off, ok := e.comp[k]; ok {
			e.u16(0xc000 | uint16(off))
			return nil
		}
		if len(e.b) < 0x3fff {
			e.comp[k] = len(e.b)
		}
		l := n[i]
		if l == "" || len(l) > maxLabelLen {
			return errBadLabel
		}
		e.b = append(e.b, byte(len(l)))
		e.b = append(e.b, l...)
	}
	e.b = append(e.b, 0)
	return nil
}

func (e *encoder) record(r *record) error {
	if err := e.name(r.Name); err != nil {
		return err
	}
	e.u16(r.Type)
	c := r.Class
	if r.Flush {
		c |= classTopBit
	}
	e.u16(c)
	e.u32(r.TTL)
	lenAt := len(e.b)
	e.u16(0) // rdata length, filled in below
	switch r.Type {
	case typeA:
		a := r.Addr.As4()
		e.b = append(e.b, a[:]...)
	case typeAAAA:
		a := r.Addr.As16()
		e.b = append(e.b, a[:]...)
	case typePTR:
		if err := e.name(r.Target); err != nil {
			return err
		}
	case typeSRV:
		e.u16(r.Priority)
		e.u16(r.Weight)
		e.u16(r.Port)
		// RFC 2782 forbids compressing the SRV target for unicast DNS;
		// mDNS allows it (RFC 6762 §18.14), but plain names are the more
		// interoperable choice.
		comp := e.comp
		e.comp = map[string]int{}
		err := e.name(r.Target)
		e.comp = comp
		if err != nil {
			return err
		}
	case typeTXT:
		if len(r.Text) == 0 {
			e.b = append(e.b, 0) // an empty TXT record holds one empty string
		}
		for _, s := range r.Text {
			if len(s) > 255 {
				return errBadRData
			}
			e.b = append(e.b, byte(len(s)))
			e.b = append(e.b, s...)
		}
	default:
		e.b = append(e.b, r.Raw...)
	}
	rdlen := len(e.b) - lenAt - 2
	if rdlen > 0xffff {
		return errBadRData
	}
	binary.BigEndian.PutUint16(e.b[lenAt:], uint16(rdlen))
	return nil
}

// encodeMessage renders m in wire format.
func encodeMessage(m *message) ([]byte, error) {
	e := &encoder{b: make([]byte, 0, 512), comp: map[string]int{}}
	e.u16(m.ID)
	e.u16(m.Flags)
	for _, n := range []int{len(m.Questions), len(m.Answers), len(m.Authorities), len(m.Additionals)} {
		if n > maxRecords {
			return nil, errTooManyRecords
		}
		e.u16(uint16(n))
	}
	for _, q := range m.Questions {
		if err := e.name(q.Name); err != nil {
			return nil, err
		}
		e.u16(q.Type)
		c := q.Class
		if q.QU {
			c |= classTopBit
		}
		e.u16(c)
	}
	for _, sec := range [][]record{m.Answers, m.Authorities, m.Additionals} {
		for i := range sec {
			if err := e.record(&sec[i]); err != nil {
				return nil, err
			}
		}
	}
	return e.b, nil
}
