package discovery

import (
	"bytes"
	"fmt"
	"sort"
	"time"
)

// Probing (RFC 6762 §8.1): before a node announces its instance name it
// asks three times, probeGap apart, whether anyone else holds it, and
// claims it only when probeGap after the third probe nobody answered.
const (
	probeCount = 3
	probeGap   = 250 * time.Millisecond
	// probeJitter bounds the random wait before the first probe, so that
	// nodes powered up together do not probe in lockstep.
	probeJitter = 250 * time.Millisecond
	// lostTieWait is how long a node that lost a simultaneous-probe tie
	// break waits before probing again (RFC 6762 §8.2); by then the
	// winner announces, and the next probe sees it and renames.
	lostTieWait = time.Second
	// RFC 6762 §8.1: after 15 conflicts within 10 s, probe at most every
	// 5 s, so that two broken responders cannot flood the link.
	conflictBurst  = 15
	conflictWindow = 10 * time.Second
	conflictWait   = 5 * time.Second
)

// instanceLabel returns the n-th instance name of a node of domain: the
// domain itself, then "domain (2)", "domain (3)" … the way DNS-SD hosts
// pick a new name after a conflict (RFC 6763 Appendix D). The domain is
// cut so the label stays within 63 bytes; domains are ASCII, so the cut
// cannot split a character.
func instanceLabel(domain string, n int) string {
	suffix := ""
	if n > 1 {
		suffix = fmt.Sprintf(" (%d)", n)
	}
	return domain[:min(len(domain), maxLabelLen-len(suffix))] + suffix
}

// probe returns the probe for r's instance name: a query for it of type
// ANY, asking for unicast answers, with the records r proposes in its
// authority section for a simultaneous prober to compare with (RFC 6762
// §8.1, §8.2).
func (r *responder) probe() *message {
	return &message{
		Questions:   []question{{Name: r.instance, Type: typeANY, Class: classIN, QU: true}},
		Authorities: []record{r.srv(r.ttl), r.txt(r.ttl)},
	}
}

// owns reports whether rec, named like r's instance, is one of r's own
// records, as sent now or by an earlier run of the same node (another
// port, say): those are no conflict.
func (r *responder) owns(rec record) bool {
	switch rec.Type {
	case typeSRV:
		return rec.Target.equal(r.host)
	case typeTXT:
		ann, err := parseTXT(rec.Text)
		return err == nil && ann.ID == r.ann.ID
	}
	return false
}

// conflicting returns the records of rs that claim r's instance name for
// someone else: live SRV and TXT records of that name that are not r's own.
// Other types under the name (NSEC, say) claim nothing a browser uses.
func (r *responder) conflicting(rs []record) []record {
	label, _ := instanceOf(r.instance)
	var out []record
	for _, rec := range rs {
		if (rec.Type == typeSRV || rec.Type == typeTXT) && rec.TTL > 0 && rec.Class == classIN &&
			isInstance(rec.Name, label) && !r.owns(rec) {
			out = append(out, rec)
		}
	}
	return out
}

// tieBreak compares the records r proposes for its instance name with
// theirs, as RFC 6762 §8.2 orders them: each set sorted, then compared
// record by record by class, type and rdata bytes, a longer set winning
// over its own prefix. It returns a negative number when r loses, a
// positive one when r wins and 0 when the sets are the same.
func (r *responder) tieBreak(theirs []record) int {
	return compareRecordSets([]record{r.srv(r.ttl), r.txt(r.ttl)}, theirs)
}

func compareRecordSets(ours, theirs []record) int {
	a, b := sortedRData(ours), sortedRData(theirs)
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := bytes.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// sortedRData renders each record as class, type and uncompressed rdata,
// the bytes RFC 6762 §8.2 compares, and sorts them.
func sortedRData(rs []record) [][]byte {
	out := make([][]byte, 0, len(rs))
	for _, rec := range rs {
		e := &encoder{comp: map[string]int{}}
		e.u16(rec.Class)
		e.u16(rec.Type)
		// rdata alone: a record with the root as its name, whose rdata
		// names (the SRV target) the encoder writes uncompressed.
		start := len(e.b)
		rr := rec
		rr.Name = nil
		rr.Flush = false
		if err := e.record(&rr); err != nil {
			continue
		}
		// Skip the root name (1), type, class (4), TTL (4), length (2).
		e.b = append(e.b[:start], e.b[start+11:]...)
		out = append(out, e.b)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out
}
