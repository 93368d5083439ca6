package discovery

import "errors"

// ErrMalformed means a packet is not a DNS message we can read: truncated,
// with a compression loop, a bad label or bad record data. Such packets are
// dropped and counted in Stats.Malformed.
var ErrMalformed = errors.New("malformed mDNS packet")

// ErrBadAnnouncement means a _quicprochat._udp service's TXT record is not
// a valid announcement: a key is missing, repeated or has a bad value, or
// the record is oversized. Such records are ignored and counted in
// Stats.BadAnnouncements.
var ErrBadAnnouncement = errors.New("bad qpc announcement")

// ErrUnknownVersion means an announcement carries a ver= this node does not
// speak. It is distinct from ErrBadAnnouncement: a newer node is not broken.
// Such records are counted in Stats.UnknownVersion.
var ErrUnknownVersion = errors.New("unknown announcement version")

// ErrNoInterface means discovery has no interface to run on: a named
// interface does not exist, or no interface is up and multicast-capable.
var ErrNoInterface = errors.New("no usable network interface")

// Reasons a packet fails to decode; they are wrapped in ErrMalformed.
var (
	errTruncated      = errors.New("truncated")
	errBadPointer     = errors.New("bad compression pointer")
	errBadLabel       = errors.New("bad label")
	errNameTooLong    = errors.New("name longer than 255 bytes")
	errBadRData       = errors.New("bad record data")
	errTooManyRecords = errors.New("too many records")
)
