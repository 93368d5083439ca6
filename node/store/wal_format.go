package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The write-ahead log's file format (see "Write-ahead log" in the package
// doc). All integers are big endian.
//
//	header  magic "qpcwal1\n"(8) | generation(8) | CRC-32C of the first 16 bytes(4)
//	frame   body length(4) | CRC-32C of type and body(4) | type(1) | body
//	group   (frame type 1) count(4) | count × entry
//	entry   kind(1) | owner length(2) | owner | seq(8) | for an enqueue: record length(4) | message record
//
// A frame is one group commit, written with one write and made durable by
// one sync: a crash can tear only the last frame, which replay cuts.

const (
	walMagic      = "qpcwal1\n"
	walHeaderLen  = 8 + 8 + 4
	walFrameHead  = 4 + 4 + 1
	walFrameGroup = 1

	// walEnqueue and walAck are the kinds of a group's entries.
	walEnqueue = 1
	walAck     = 2

	// walMaxFrame bounds a frame's body, so that a corrupt length cannot
	// make replay allocate gigabytes: a group holds at most BatchSize
	// calls, each far below this.
	walMaxFrame = 1 << 30
)

// errWALTorn marks a frame that a crash cut short: replay stops before it.
var errWALTorn = errors.New("torn write-ahead log frame")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// walEntry is one change of the mailbox hot path: an enqueued message (its
// record as bbolt stores it) or an ack of a queue up to seq.
type walEntry struct {
	kind  byte
	owner string
	seq   uint64
	rec   []byte // an enqueue's message record
}

// encodeWALHeader returns the header of a log of generation gen.
func encodeWALHeader(gen uint64) []byte {
	b := make([]byte, walHeaderLen)
	copy(b, walMagic)
	binary.BigEndian.PutUint64(b[8:], gen)
	binary.BigEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	return b
}

// decodeWALHeader returns the generation of a log's header.
func decodeWALHeader(b []byte) (uint64, error) {
	if len(b) < walHeaderLen {
		return 0, fmt.Errorf("%w: write-ahead log header of %d bytes", errWALTorn, len(b))
	}
	if string(b[:8]) != walMagic {
		return 0, fmt.Errorf("%w: write-ahead log has no header", ErrCorrupt)
	}
	if crc32.Checksum(b[:16], castagnoli) != binary.BigEndian.Uint32(b[16:]) {
		return 0, fmt.Errorf("%w: write-ahead log header checksum", ErrCorrupt)
	}
	return binary.BigEndian.Uint64(b[8:]), nil
}

// appendWALGroup appends the frame of one group's entries to b.
func appendWALGroup(b []byte, entries []walEntry) []byte {
	start := len(b)
	b = append(b, make([]byte, walFrameHead)...)
	b[start+8] = walFrameGroup
	b = binary.BigEndian.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		b = append(b, e.kind)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.owner)))
		b = append(b, e.owner...)
		b = binary.BigEndian.AppendUint64(b, e.seq)
		if e.kind == walEnqueue {
			b = binary.BigEndian.AppendUint32(b, uint32(len(e.rec)))
			b = append(b, e.rec...)
		}
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-walFrameHead))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+8:], castagnoli))
	return b
}

// decodeWALFrame decodes the frame at the start of b and returns its
// entries and length. A frame that runs past the end of b, or whose
// checksum fails and that reaches the end of b, or that is all zeros to
// the end of b (a file extended but not written), is torn (errWALTorn); a
// frame that fails otherwise is corrupt (ErrCorrupt). The entries' owner
// and rec alias b.
func decodeWALFrame(b []byte) ([]walEntry, int, error) {
	if allZero(b) {
		return nil, 0, fmt.Errorf("%w: %d zero bytes", errWALTorn, len(b))
	}
	if len(b) < walFrameHead {
		return nil, 0, fmt.Errorf("%w: frame head of %d bytes", errWALTorn, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if n > walMaxFrame {
		return nil, 0, fmt.Errorf("%w: write-ahead log frame of %d bytes", ErrCorrupt, n)
	}
	end := walFrameHead + int(n)
	if end > len(b) {
		return nil, 0, fmt.Errorf("%w: frame of %d bytes, %d left", errWALTorn, n, len(b)-walFrameHead)
	}
	if crc32.Checksum(b[8:end], castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		if end == len(b) {
			return nil, 0, fmt.Errorf("%w: last frame's checksum", errWALTorn)
		}
		return nil, 0, fmt.Errorf("%w: write-ahead log frame checksum", ErrCorrupt)
	}
	if b[8] != walFrameGroup {
		return nil, 0, fmt.Errorf("%w: write-ahead log frame type %d", ErrCorrupt, b[8])
	}
	entries, err := decodeWALGroup(b[walFrameHead:end])
	if err != nil {
		return nil, 0, err
	}
	return entries, end, nil
}

// decodeWALGroup decodes a group frame's body.
func decodeWALGroup(b []byte) ([]walEntry, error) {
	bad := func(what string) error {
		return fmt.Errorf("%w: write-ahead log group: %s", ErrCorrupt, what)
	}
	if len(b) < 4 {
		return nil, bad("no count")
	}
	count := binary.BigEndian.Uint32(b)
	b = b[4:]
	// Each entry takes at least 11 bytes: a count beyond that is a lie
	// that must not size an allocation.
	if uint64(count) > uint64(len(b))/11 {
		return nil, bad(fmt.Sprintf("%d entries in %d bytes", count, len(b)))
	}
	entries := make([]walEntry, 0, count)
	for range count {
		if len(b) < 3 {
			return nil, bad("truncated entry")
		}
		e := walEntry{kind: b[0]}
		if e.kind != walEnqueue && e.kind != walAck {
			return nil, bad(fmt.Sprintf("entry kind %d", e.kind))
		}
		ol := int(binary.BigEndian.Uint16(b[1:]))
		b = b[3:]
		if ol == 0 || ol > MaxUserLen+1+16 || len(b) < ol+8 {
			return nil, bad("owner")
		}
		e.owner = string(b[:ol])
		e.seq = binary.BigEndian.Uint64(b[ol:])
		b = b[ol+8:]
		if e.kind == walEnqueue {
			if len(b) < 4 {
				return nil, bad("truncated record")
			}
			rl := binary.BigEndian.Uint32(b)
			b = b[4:]
			if uint64(rl) > uint64(len(b)) {
				return nil, bad("truncated record")
			}
			e.rec = b[:rl:rl]
			b = b[rl:]
			if _, _, err := decodeMessageHeader(e.rec); err != nil {
				return nil, fmt.Errorf("write-ahead log message %d of %q: %w", e.seq, e.owner, err)
			}
			if e.seq == 0 {
				return nil, bad("message seq 0")
			}
		}
		entries = append(entries, e)
	}
	if len(b) != 0 {
		return nil, bad(fmt.Sprintf("%d trailing bytes", len(b)))
	}
	return entries, nil
}

// walContents is what a log file holds.
type walContents struct {
	gen     uint64
	entries []walEntry
	// good is the length of the header and the whole frames; a torn
	// frame, if any, follows.
	good int
}

// decodeWAL decodes a whole log file. An empty or shorter-than-header
// file (a crash while a new generation was started) holds nothing, with
// generation 0; a torn last frame is cut; any other damage is ErrCorrupt.
func decodeWAL(b []byte) (walContents, error) {
	gen, err := decodeWALHeader(b)
	if errors.Is(err, errWALTorn) {
		return walContents{}, nil
	}
	if err != nil {
		return walContents{}, err
	}
	c := walContents{gen: gen, good: walHeaderLen}
	for c.good < len(b) {
		entries, n, err := decodeWALFrame(b[c.good:])
		if errors.Is(err, errWALTorn) {
			break
		}
		if err != nil {
			return walContents{}, fmt.Errorf("at offset %d: %w", c.good, err)
		}
		c.entries = append(c.entries, entries...)
		c.good += n
	}
	return c, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return len(b) > 0
}
