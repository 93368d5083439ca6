package discovery

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/quicprochat/qpc/protocol"
)

// ProtocolVersion is the ver= value of the announcements this node sends
// and understands.
const ProtocolVersion = "1"

// maxTXTLen bounds the TXT record of an announcement. A valid one is about
// 180 bytes; RFC 6763 §6.2 asks to stay under 1300 so a response fits in an
// Ethernet frame, and anything larger is hostile or broken.
const maxTXTLen = 1300

// Announcement is what a node tells the mesh about itself in the TXT record
// of its _quicprochat._udp service (DESIGN §7).
type Announcement struct {
	// ID is the node id: 26 lowercase base32 characters.
	ID string
	// Domain is the node's mail domain.
	Domain string
	// Port is the UDP port of the node's QUIC listener.
	Port uint16
	// Fingerprint is the lowercase hex SHA-256 of the node's TLS
	// certificate, which clients pin.
	Fingerprint string
}

// txt renders a as the character-strings of a TXT record.
func (a Announcement) txt() []string {
	return []string{
		"ver=" + ProtocolVersion,
		"id=" + a.ID,
		"domain=" + a.Domain,
		"port=" + strconv.Itoa(int(a.Port)),
		"fp=" + a.Fingerprint,
	}
}

// Validate reports whether a can be announced and is what a peer would
// accept.
func (a Announcement) Validate() error {
	if err := validateID(a.ID); err != nil {
		return err
	}
	if err := validateDomain(a.Domain); err != nil {
		return err
	}
	if a.Port == 0 {
		return fmt.Errorf("%w: port 0", ErrBadAnnouncement)
	}
	return validateFingerprint(a.Fingerprint)
}

// parseTXT reads an announcement from the character-strings of a TXT
// record. Keys are case-insensitive and only the first occurrence of a key
// counts (RFC 6763 §6.4); unknown keys are ignored so later versions can
// add some. A ver= other than ProtocolVersion is ErrUnknownVersion; any
// other problem is ErrBadAnnouncement.
func parseTXT(strs []string) (Announcement, error) {
	size := 0
	for _, s := range strs {
		size += 1 + len(s)
	}
	if size > maxTXTLen {
		return Announcement{}, fmt.Errorf("%w: TXT record of %d bytes", ErrBadAnnouncement, size)
	}
	kv := map[string]string{}
	for _, s := range strs {
		k, v, ok := strings.Cut(s, "=")
		if k == "" {
			continue // RFC 6763 §6.4: a string without a key is ignored
		}
		k = strings.ToLower(k)
		if _, seen := kv[k]; seen {
			continue
		}
		if !ok {
			v = "\x00" // a boolean attribute: present, but no value
		}
		kv[k] = v
	}
	ver, ok := kv["ver"]
	if !ok {
		return Announcement{}, fmt.Errorf("%w: no ver=", ErrBadAnnouncement)
	}
	if ver != ProtocolVersion {
		return Announcement{}, fmt.Errorf("%w: ver=%q", ErrUnknownVersion, ver)
	}
	for _, k := range []string{"id", "domain", "port", "fp"} {
		if _, ok := kv[k]; !ok {
			return Announcement{}, fmt.Errorf("%w: no %s=", ErrBadAnnouncement, k)
		}
	}
	port, err := strconv.ParseUint(kv["port"], 10, 16)
	if err != nil || port == 0 {
		return Announcement{}, fmt.Errorf("%w: port=%q", ErrBadAnnouncement, kv["port"])
	}
	a := Announcement{
		ID:          kv["id"],
		Domain:      strings.ToLower(kv["domain"]),
		Port:        uint16(port),
		Fingerprint: strings.ToLower(kv["fp"]),
	}
	if err := a.Validate(); err != nil {
		return Announcement{}, err
	}
	return a, nil
}

func validateID(id string) error {
	if len(id) != 26 {
		return fmt.Errorf("%w: id=%q is not 26 characters", ErrBadAnnouncement, id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return fmt.Errorf("%w: id=%q is not lowercase base32", ErrBadAnnouncement, id)
		}
	}
	return nil
}

func validateFingerprint(fp string) error {
	if len(fp) != 64 {
		return fmt.Errorf("%w: fp=%q is not 64 hex digits", ErrBadAnnouncement, fp)
	}
	for i := 0; i < len(fp); i++ {
		if c := fp[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%w: fp=%q is not lowercase hex", ErrBadAnnouncement, fp)
		}
	}
	return nil
}

// validateDomain accepts the domains nodes can have (protocol.ValidDomain):
// an announcement of any other could not be a peer, whose domain is the
// DNS name of its certificate.
func validateDomain(d string) error {
	if err := protocol.ValidDomain(d); err != nil {
		return fmt.Errorf("%w: domain=%q: %w", ErrBadAnnouncement, d, err)
	}
	return nil
}
