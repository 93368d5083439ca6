// Package config holds the configuration of `qpc node`: one struct, its
// defaults, its binding to command-line flags and QPC_* environment
// variables, and one validation function.
//
// Every flag --some-name has the environment twin QPC_SOME_NAME and the UCI
// option some_name (DESIGN §1). A flag given on the command line wins over
// its environment variable, which wins over the default.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// DefaultPort is the UDP port a node listens on unless told otherwise.
const DefaultPort = 7000

// Node is the configuration of `qpc node`.
type Node struct {
	// Listen is the UDP address QUIC listens on, "host:port".
	Listen string
	// Domain is the node's mail domain: its users are name@Domain.
	Domain string
	// DataDir holds the node key and certificates.
	DataDir string
	// TLSCert and TLSKey are PEM files of the certificate clients see and
	// its key. Empty: a self-signed certificate in DataDir.
	TLSCert, TLSKey string
	// Production refuses every insecure default.
	Production bool
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string

	// StoreDir holds the message database. Empty: DataDir. Put it on RAM
	// or USB storage to spare a router's flash.
	StoreDir string
	// MessageTTL is how long an undelivered message is kept when its
	// sender asks for no TTL; MaxMessageTTL is the longest a sender may ask.
	MessageTTL, MaxMessageTTL time.Duration
	// MaxPayload is the largest message accepted, in bytes.
	MaxPayload int
	// MailboxMaxMessages and MailboxMaxBytes bound each user's mailbox.
	MailboxMaxMessages int
	MailboxMaxBytes    int64
	// EnqueueRate is how many messages per second one connection may send
	// on average (bursts of twice that).
	EnqueueRate int
	// MaxConnections bounds concurrent client connections.
	MaxConnections int
	// MaxConnectionsPerSource bounds the client connections from one
	// source: one IPv4 address, or one IPv6 /64 (what one host or one
	// attacker on a mesh has). It keeps one source from taking every slot.
	MaxConnectionsPerSource int
	// MaxUnauthenticated bounds the client connections that have not
	// logged in (or resumed a session), so that a flood of idle or
	// anonymous connections leaves the other slots to logged-in users.
	MaxUnauthenticated int
	// LoginTimeout closes a client connection that has not logged in or
	// resumed a session this long after it connected; health, register
	// and login calls work meanwhile.
	LoginTimeout time.Duration
	// RPCTimeout bounds each call; IdleTimeout closes silent connections.
	RPCTimeout, IdleTimeout time.Duration
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration
	// MaxAccounts bounds the accounts of the node; StoreMaxBytes bounds
	// the message bytes of all mailboxes together (a full store refuses
	// new messages and evicts none).
	MaxAccounts   int
	StoreMaxBytes int64
	// StoreWAL has the store write enqueues and acks to its write-ahead
	// log, checkpointed into bbolt, instead of a bbolt transaction per
	// group commit (node/store, Options.NoWAL); on by default, off to
	// compare in benchmarks.
	StoreWAL bool
	// RegisterRate is how many registration calls per hour one source
	// address (IPv4 address or IPv6 /64) may make, a registration taking
	// two; RegisterRateNode how many accounts per hour the node creates
	// for all sources together. Both are also the burst.
	RegisterRate, RegisterRateNode int
	// LoginRate is how many logins per minute one source address (IPv4
	// address or IPv6 /64) may start after a burst of LoginRate or 64,
	// whichever is more: raised where many clients share an address (a
	// NAT in front of a community's network).
	LoginRate int
	// NameHold is how long the name of a deleted account cannot be
	// registered again.
	NameHold time.Duration
	// Registration is who may register: protocol.RegistrationOpen,
	// RegistrationInvite (with a code from `qpc admin invite`) or
	// RegistrationClosed.
	Registration string
	// AdminSocket is the path of the admin socket (docs/admin.md);
	// AdminSocketDefault puts it in the data dir, "" turns it off. Read it
	// with AdminSocketPath.
	AdminSocket string
	// MetricsListen is the TCP address of the Prometheus endpoint; empty
	// means off. MetricsPublic allows a non-loopback address in production.
	MetricsListen string
	MetricsPublic bool

	// MDNS announces the node and browses for others with mDNS.
	MDNS bool
	// MDNSIfaces are the interfaces mDNS runs on; empty means every
	// interface that is up, multicast-capable and not loopback.
	MDNSIfaces []string

	// FederationCert and FederationKey are the PEM certificate (issued by
	// the community CA, one DNS SAN equal to Domain) and key this node
	// presents to other nodes; FederationCA is the PEM file of the
	// community CA that peers' certificates must chain to. All empty:
	// federation is off.
	FederationCert, FederationKey, FederationCA string
	// Peers are static federation peers, "host:port", dialed in addition
	// to the nodes that discovery finds.
	Peers []string
	// FederationDeny are SHA-256 fingerprints (lowercase hex) of peer
	// certificates that are refused although they chain to the CA.
	FederationDeny []string
	// FederationRate is how many messages per second one peer may relay
	// to this node on average (bursts of twice that).
	FederationRate int
	// KTGossipInterval is how often each federation link exchanges key
	// transparency heads (docs/kt.md): how fast a log that lied is known
	// across the community.
	KTGossipInterval time.Duration

	// Store-and-forward (docs/store-and-forward.md): messages for a node
	// that is not linked wait in envelopes on disk and travel hop by hop.
	//
	// MeshTTL is the TTL of the envelopes this node makes, and the longest
	// a sender may ask for; MeshMaxHops likewise bounds their hops.
	MeshTTL     time.Duration
	MeshMaxHops uint8
	// MeshStoreBytes bounds the bytes of envelopes held; MeshDomainBytes
	// those held for one destination domain, MeshOriginBytes those from one
	// origin node. A full store refuses new envelopes and evicts none.
	MeshStoreBytes, MeshDomainBytes, MeshOriginBytes int64
	// MeshNeighbourBytes bounds the bytes of envelopes held that one
	// federation neighbour handed over, whatever origins they claim: a
	// relay cannot check an origin past its first hop, a neighbour's
	// certificate it can. 0 (the default) is half of MeshStoreBytes, so
	// that a configuration with a smaller store stays valid.
	MeshNeighbourBytes int64
	// MeshSeenMax bounds the envelope ids remembered against duplicates.
	MeshSeenMax int

	// Broadcast channels (DESIGN §7): encrypted posts flooded across the
	// mesh, the last posts of each channel kept for late joiners.
	//
	// ChannelRetain is how many posts are kept per channel.
	ChannelRetain int
	// ChannelRetention is how long after it was made a post is kept and
	// relayed: the TTL of the posts this node makes when the sender asks
	// for none, and the cap of every post's TTL, here and when relaying.
	ChannelRetention time.Duration
	// ChannelMax bounds the channels with kept posts; past it the channel
	// whose newest post is oldest is evicted.
	ChannelMax int
	// ChannelStoreSize bounds the bytes of kept posts; past it the posts
	// that expire first are evicted.
	ChannelStoreSize int64
	// ChannelSeenMax bounds the post ids remembered against duplicates;
	// when it is full, new posts are refused (kept posts are a cache that
	// evicts; the seen-set, which stops posts from circulating, does not).
	ChannelSeenMax int
	// ChannelOriginRate is how many posts per minute are accepted from one
	// origin node; ChannelUserRate how many one local user may publish.
	ChannelOriginRate, ChannelUserRate int
	// ChannelNeighbourRate is how many relayed posts per minute are
	// accepted from one federation neighbour, whatever origins they claim.
	ChannelNeighbourRate int
	// ChannelRelayRetention caps how long a relayed post is kept and its
	// id remembered (at most ChannelRetention; larger values are capped),
	// so that a neighbour's share of the seen-set frees up soon after a
	// flood.
	ChannelRelayRetention time.Duration

	// Files (node/blob, docs/files.md): FileMaxSize bounds one file,
	// FileUserQuota what one user's files take together, FileStoreSize
	// what all files take; FileTTL is how long a file is kept unless its
	// uploader asks otherwise, FileMaxTTL the longest one may ask for.
	FileMaxSize, FileUserQuota, FileStoreSize int64
	FileTTL, FileMaxTTL                       time.Duration
}

// MeshNeighbourQuota is the bytes held that one federation neighbour may
// hand over: MeshNeighbourBytes, or half of MeshStoreBytes when that is 0.
func (c *Node) MeshNeighbourQuota() int64 {
	if c.MeshNeighbourBytes > 0 {
		return c.MeshNeighbourBytes
	}
	return max(1, c.MeshStoreBytes/2)
}

// Federation reports whether federation is configured.
func (c *Node) Federation() bool { return c.FederationCert != "" }

// AdminSocketDefault is the --admin-socket default, which names the
// socket admin.sock in the data dir: the flag's help shows it as written.
const AdminSocketDefault = "DATA_DIR/admin.sock"

// AdminSocketFile is the name of the admin socket in the data dir.
const AdminSocketFile = "admin.sock"

// AdminSocketPath returns the path of the admin socket, or "" when it is
// off.
func (c *Node) AdminSocketPath() string {
	if c.AdminSocket == AdminSocketDefault {
		return filepath.Join(c.DataDir, AdminSocketFile)
	}
	return c.AdminSocket
}

// StorePath returns the directory of the message database.
func (c *Node) StorePath() string {
	if c.StoreDir != "" {
		return c.StoreDir
	}
	return c.DataDir
}

// Default returns the configuration a node runs with when nothing is set.
func Default() Node {
	return Node{
		Listen:    net.JoinHostPort("::", strconv.Itoa(DefaultPort)),
		Domain:    defaultDomain(),
		DataDir:   DefaultDataDir(),
		LogLevel:  "info",
		LogFormat: "text",

		MessageTTL:         30 * 24 * time.Hour,
		MaxMessageTTL:      30 * 24 * time.Hour,
		MaxPayload:         64 << 10,
		MailboxMaxMessages: 10_000,
		MailboxMaxBytes:    64 << 20,
		EnqueueRate:        2000,
		MaxConnections:     1024,
		// One source may hold a sixteenth of the slots and a quarter of
		// the unauthenticated pool: `qpc bench --clients 16` (32
		// connections) still fits from one address.
		MaxConnectionsPerSource: 64,
		MaxUnauthenticated:      256,
		LoginTimeout:            10 * time.Second,
		RPCTimeout:              30 * time.Second,
		IdleTimeout:             60 * time.Second,
		SessionTTL:              30 * 24 * time.Hour,
		MaxAccounts:             1000,
		StoreMaxBytes:           64 << 20,
		StoreWAL:                true,
		RegisterRate:            20,
		RegisterRateNode:        60,
		LoginRate:               60,
		NameHold:                7 * 24 * time.Hour,
		Registration:            protocol.RegistrationOpen,
		AdminSocket:             AdminSocketDefault,
		FederationRate:          2000,
		KTGossipInterval:        time.Minute,

		MeshTTL:         7 * 24 * time.Hour,
		MeshMaxHops:     8,
		MeshStoreBytes:  16 << 20,
		MeshDomainBytes: 8 << 20,
		MeshOriginBytes: 8 << 20,
		MeshSeenMax:     50_000,

		ChannelRetain:         100,
		ChannelRetention:      7 * 24 * time.Hour,
		ChannelMax:            256,
		ChannelStoreSize:      4 << 20,
		ChannelSeenMax:        50_000,
		ChannelOriginRate:     300,
		ChannelNeighbourRate:  600,
		ChannelRelayRetention: 48 * time.Hour,
		ChannelUserRate:       30,

		FileMaxSize:   8 << 20,
		FileUserQuota: 32 << 20,
		FileStoreSize: 64 << 20,
		FileTTL:       7 * 24 * time.Hour,
		FileMaxTTL:    30 * 24 * time.Hour,
	}
}

func defaultDomain() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return strings.ToLower(h)
}

// openWrtRelease is the file whose presence marks an OpenWrt system.
var openWrtRelease = "/etc/openwrt_release"

// DefaultDataDir returns /etc/qpc on OpenWrt, where flash keeps /etc, and
// $XDG_DATA_HOME/qpc-node (default ~/.local/share/qpc-node) elsewhere.
func DefaultDataDir() string {
	if _, err := os.Stat(openWrtRelease); err == nil {
		return "/etc/qpc"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "qpc-node")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "qpc-node")
	}
	return "qpc-node"
}

// Validate checks c and returns a *FlagError naming the first flag whose
// value is wrong.
func (c *Node) Validate() error {
	if err := validateListen(c.Listen); err != nil {
		return &FlagError{Flag: "listen", Err: err}
	}
	if err := protocol.ValidDomain(c.Domain); err != nil {
		// The node signs store-and-forward envelopes and channel posts
		// with its domain and federation certifies it: refused here, a
		// domain that the rule refuses would start a node that cannot.
		return &FlagError{Flag: "domain", Err: fmt.Errorf("%w; the node names itself by its domain in certificates and signed envelopes", err)}
	}
	if c.DataDir == "" {
		return &FlagError{Flag: "data-dir", Err: errors.New("must not be empty")}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		if c.TLSCert == "" {
			return &FlagError{Flag: "tls-cert", Err: errors.New("missing: --tls-key is set, so --tls-cert must be too")}
		}
		return &FlagError{Flag: "tls-key", Err: errors.New("missing: --tls-cert is set, so --tls-key must be too")}
	}
	for _, f := range []struct{ flag, path string }{{"tls-cert", c.TLSCert}, {"tls-key", c.TLSKey}} {
		if f.path == "" {
			continue
		}
		if err := readable(f.path); err != nil {
			return &FlagError{Flag: f.flag, Err: err}
		}
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	if c.MetricsListen != "" {
		if err := validateListen(c.MetricsListen); err != nil {
			return &FlagError{Flag: "metrics-listen", Err: err}
		}
	}
	if c.Production {
		if err := c.validateProduction(); err != nil {
			return err
		}
	}
	if _, err := ParseLogLevel(c.LogLevel); err != nil {
		return &FlagError{Flag: "log-level", Err: err}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return &FlagError{Flag: "log-format", Err: fmt.Errorf("%q is not text or json", c.LogFormat)}
	}
	if err := validateMDNSIfaces(c.MDNS, c.MDNSIfaces); err != nil {
		return &FlagError{Flag: "mdns-iface", Err: err}
	}
	switch c.Registration {
	case protocol.RegistrationOpen, protocol.RegistrationInvite, protocol.RegistrationClosed:
	default:
		return &FlagError{Flag: "registration", Err: fmt.Errorf("%w: %q is not open, invite or closed", ErrBadRegistration, c.Registration)}
	}
	return c.validateFederation()
}

// validateFederation checks that the federation files come together and
// are readable, that peers are host:port, and normalises deny-list
// fingerprints to lowercase hex.
func (c *Node) validateFederation() error {
	files := []struct{ flag, path string }{
		{"federation-cert", c.FederationCert},
		{"federation-key", c.FederationKey},
		{"federation-ca", c.FederationCA},
	}
	set := 0
	for _, f := range files {
		if f.path != "" {
			set++
		}
	}
	if set != 0 && set != len(files) {
		for _, f := range files {
			if f.path == "" {
				return &FlagError{Flag: f.flag, Err: errors.New("missing: --federation-cert, --federation-key and --federation-ca go together")}
			}
		}
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if err := readable(f.path); err != nil {
			return &FlagError{Flag: f.flag, Err: err}
		}
	}
	if set == 0 {
		if len(c.Peers) > 0 {
			return &FlagError{Flag: "peer", Err: ErrNoFederation}
		}
		if len(c.FederationDeny) > 0 {
			return &FlagError{Flag: "federation-deny", Err: ErrNoFederation}
		}
	}
	for _, p := range c.Peers {
		host, port, err := net.SplitHostPort(p)
		if err != nil || host == "" {
			return &FlagError{Flag: "peer", Err: fmt.Errorf("%q is not host:port (IPv6 goes in brackets: [fd00::2]:%d)", p, DefaultPort)}
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return &FlagError{Flag: "peer", Err: fmt.Errorf("%q: port must be 1-65535", p)}
		}
	}
	for i, fp := range c.FederationDeny {
		norm, err := ParseFingerprint(fp)
		if err != nil {
			return &FlagError{Flag: "federation-deny", Err: err}
		}
		c.FederationDeny[i] = norm
	}
	return nil
}

// ParseFingerprint normalises a certificate fingerprint given by a person:
// 64 hex digits of a SHA-256, optionally with colons (as openssl prints
// them), in any case.
func ParseFingerprint(s string) (string, error) {
	clean := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	ok := len(clean) == 64
	for _, r := range clean {
		ok = ok && (r >= '0' && r <= '9' || r >= 'a' && r <= 'f')
	}
	if !ok {
		return "", fmt.Errorf("%q is not a SHA-256 fingerprint (64 hex digits)", s)
	}
	return clean, nil
}

// interfaceByName looks up a network interface; tests replace it.
var interfaceByName = net.InterfaceByName

func validateMDNSIfaces(on bool, ifaces []string) error {
	if len(ifaces) > 0 && !on {
		return errors.New("has no effect without --mdns")
	}
	for _, name := range ifaces {
		if _, err := interfaceByName(name); err != nil {
			return fmt.Errorf("no network interface %q", name)
		}
	}
	return nil
}

func (c *Node) validateLimits() error {
	positive := []struct {
		flag string
		ok   bool
	}{
		{"message-ttl", c.MessageTTL > 0},
		{"max-message-ttl", c.MaxMessageTTL > 0},
		{"max-payload", c.MaxPayload > 0},
		{"mailbox-max-messages", c.MailboxMaxMessages > 0},
		{"mailbox-max-bytes", c.MailboxMaxBytes > 0},
		{"enqueue-rate", c.EnqueueRate > 0},
		{"max-connections", c.MaxConnections > 0},
		{"max-connections-per-source", c.MaxConnectionsPerSource > 0},
		{"max-unauthenticated", c.MaxUnauthenticated > 0},
		{"login-timeout", c.LoginTimeout > 0},
		{"rpc-timeout", c.RPCTimeout > 0},
		{"idle-timeout", c.IdleTimeout > 0},
		{"session-ttl", c.SessionTTL > 0},
		{"max-accounts", c.MaxAccounts > 0},
		{"store-max-bytes", c.StoreMaxBytes > 0},
		{"register-rate", c.RegisterRate > 0},
		{"register-rate-node", c.RegisterRateNode > 0},
		{"login-rate", c.LoginRate > 0},
		{"name-hold", c.NameHold > 0},
		{"federation-rate", c.FederationRate > 0},
		{"kt-gossip-interval", c.KTGossipInterval > 0},
	}
	for _, p := range positive {
		if !p.ok {
			return &FlagError{Flag: p.flag, Err: errors.New("must be positive")}
		}
	}
	if c.MaxConnectionsPerSource > c.MaxConnections {
		return &FlagError{Flag: "max-connections-per-source", Err: fmt.Errorf("%d exceeds --max-connections %d", c.MaxConnectionsPerSource, c.MaxConnections)}
	}
	if c.MaxUnauthenticated > c.MaxConnections {
		return &FlagError{Flag: "max-unauthenticated", Err: fmt.Errorf("%d exceeds --max-connections %d", c.MaxUnauthenticated, c.MaxConnections)}
	}
	if c.MessageTTL > c.MaxMessageTTL {
		return &FlagError{Flag: "message-ttl", Err: fmt.Errorf("%s exceeds --max-message-ttl %s", c.MessageTTL, c.MaxMessageTTL)}
	}
	if int64(c.MaxPayload) > c.MailboxMaxBytes {
		return &FlagError{Flag: "max-payload", Err: fmt.Errorf("%d exceeds --mailbox-max-bytes %d", c.MaxPayload, c.MailboxMaxBytes)}
	}
	if int64(c.MaxPayload) > c.StoreMaxBytes {
		return &FlagError{Flag: "max-payload", Err: fmt.Errorf("%d exceeds --store-max-bytes %d", c.MaxPayload, c.StoreMaxBytes)}
	}
	if c.MaxPayload > MaxPayloadLimit {
		return &FlagError{Flag: "max-payload", Err: fmt.Errorf("%d exceeds the hard limit of %d bytes", c.MaxPayload, MaxPayloadLimit)}
	}
	if err := c.validateMesh(); err != nil {
		return err
	}
	if err := c.validateChannels(); err != nil {
		return err
	}
	return c.validateFiles()
}

// The ranges of the store-and-forward options: those of mesh/envelope,
// whose envelopes refuse more hops or a longer TTL.
const (
	minMeshTTL     = time.Second
	maxMeshTTL     = 30 * 24 * time.Hour
	maxMeshMaxHops = 32
)

func (c *Node) validateMesh() error {
	switch {
	case c.MeshTTL < minMeshTTL || c.MeshTTL > maxMeshTTL:
		return &FlagError{Flag: "mesh-ttl", Err: fmt.Errorf("%s is not between %s and %s", c.MeshTTL, minMeshTTL, maxMeshTTL)}
	case c.MeshTTL%time.Second != 0:
		// Envelopes carry their TTL in whole seconds.
		return &FlagError{Flag: "mesh-ttl", Err: fmt.Errorf("%s is not a whole number of seconds", c.MeshTTL)}
	case c.MeshMaxHops < 1 || c.MeshMaxHops > maxMeshMaxHops:
		return &FlagError{Flag: "mesh-max-hops", Err: fmt.Errorf("%d is not between 1 and %d", c.MeshMaxHops, maxMeshMaxHops)}
	case c.MeshSeenMax <= 0:
		return &FlagError{Flag: "mesh-seen-max", Err: errors.New("must be positive")}
	case c.MeshNeighbourBytes < 0:
		return &FlagError{Flag: "mesh-neighbour-quota", Err: errors.New("must not be negative (0 is half the store)")}
	case c.MeshNeighbourBytes > c.MeshStoreBytes:
		return &FlagError{Flag: "mesh-neighbour-quota", Err: fmt.Errorf("%s exceeds --mesh-store-size %s", mib(c.MeshNeighbourBytes), mib(c.MeshStoreBytes))}
	}
	for _, q := range []struct {
		flag  string
		bytes int64
	}{
		{"mesh-store-size", c.MeshStoreBytes},
		{"mesh-domain-quota", c.MeshDomainBytes},
		{"mesh-origin-quota", c.MeshOriginBytes},
	} {
		if q.bytes <= 0 {
			return &FlagError{Flag: q.flag, Err: errors.New("must be positive")}
		}
		if q.bytes > c.MeshStoreBytes {
			return &FlagError{Flag: q.flag, Err: fmt.Errorf("%s exceeds --mesh-store-size %s", mib(q.bytes), mib(c.MeshStoreBytes))}
		}
	}
	return nil
}

// The ranges of the broadcast channel options. A post carries its TTL in
// whole seconds, at most 30 days (schemas/mesh.capnp, ChannelPost), and
// the retention is the longest TTL a post gets.
const (
	maxChannelRetain    = 10_000
	minChannelRetention = time.Minute
	maxChannelRetention = 30 * 24 * time.Hour
	maxChannelMax       = 65_536
)

func (c *Node) validateChannels() error {
	switch {
	case c.ChannelRetain < 1 || c.ChannelRetain > maxChannelRetain:
		return &FlagError{Flag: "channel-retain", Err: fmt.Errorf("%d is not between 1 and %d", c.ChannelRetain, maxChannelRetain)}
	case c.ChannelRetention < minChannelRetention || c.ChannelRetention > maxChannelRetention:
		return &FlagError{Flag: "channel-retention", Err: fmt.Errorf("%s is not between %s and %s",
			shortDuration(c.ChannelRetention), shortDuration(minChannelRetention), shortDuration(maxChannelRetention))}
	case c.ChannelRetention%time.Second != 0:
		// Posts carry their TTL in whole seconds.
		return &FlagError{Flag: "channel-retention", Err: fmt.Errorf("%s is not a whole number of seconds", c.ChannelRetention)}
	case c.ChannelMax < 1 || c.ChannelMax > maxChannelMax:
		return &FlagError{Flag: "channel-max", Err: fmt.Errorf("%d is not between 1 and %d", c.ChannelMax, maxChannelMax)}
	case c.ChannelStoreSize <= 0:
		return &FlagError{Flag: "channel-store-size", Err: fmt.Errorf("%s is not at least 1 MiB", mib(c.ChannelStoreSize))}
	case c.ChannelSeenMax <= 0:
		return &FlagError{Flag: "channel-seen-max", Err: fmt.Errorf("%d is not at least 1 post id", c.ChannelSeenMax)}
	case c.ChannelOriginRate <= 0:
		return &FlagError{Flag: "channel-origin-rate", Err: fmt.Errorf("%d is not at least 1 post per minute (the limit cannot be turned off)", c.ChannelOriginRate)}
	case c.ChannelUserRate <= 0:
		return &FlagError{Flag: "channel-user-rate", Err: fmt.Errorf("%d is not at least 1 post per minute (the limit cannot be turned off)", c.ChannelUserRate)}
	case c.ChannelNeighbourRate <= 0:
		return &FlagError{Flag: "channel-neighbour-rate", Err: fmt.Errorf("%d is not at least 1 post per minute (the limit cannot be turned off)", c.ChannelNeighbourRate)}
	case c.ChannelRelayRetention < minChannelRetention || c.ChannelRelayRetention > maxChannelRetention:
		return &FlagError{Flag: "channel-relay-retention", Err: fmt.Errorf("%s is not between %s and %s",
			shortDuration(c.ChannelRelayRetention), shortDuration(minChannelRetention), shortDuration(maxChannelRetention))}
	case c.ChannelRelayRetention%time.Second != 0:
		return &FlagError{Flag: "channel-relay-retention", Err: fmt.Errorf("%s is not a whole number of seconds", c.ChannelRelayRetention)}
	}
	return nil
}

// shortDuration writes d as a person would: 720h rather than 720h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// mib writes a byte count in MiB, as the mesh size flags take it.
func mib(b int64) string {
	if b%(1<<20) == 0 {
		return strconv.FormatInt(b>>20, 10) + " MiB"
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 2, 64) + " MiB"
}

// MaxPayloadLimit is the largest --max-payload allowed. A message travels in
// one RPC and is held in memory whole, several at a time, on a router with
// tens of MiB of RAM; sealed 1:1 messages are at most 64 KiB anyway.
const MaxPayloadLimit = 4 << 20

// validateProduction refuses the defaults that are unsafe on a real node.
func (c *Node) validateProduction() error {
	if c.TLSCert == "" {
		return &FlagError{Flag: "production", Err: ErrSelfSignedInProduction}
	}
	if c.StoreDir == "" {
		return &FlagError{Flag: "store-dir", Err: ErrNoStoreDirInProduction}
	}
	if c.MetricsListen != "" && !c.MetricsPublic {
		host, _, _ := net.SplitHostPort(c.MetricsListen)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return &FlagError{Flag: "metrics-listen", Err: ErrPublicMetricsInProduction}
		}
	}
	if problems := c.FileProblems(time.Now()); len(problems) > 0 {
		return problems[0]
	}
	return nil
}

func validateListen(addr string) error {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (IPv6 goes in brackets: [::]:%d)", addr, DefaultPort)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("port %q is not a number", portStr)
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("port %d is out of range 0-65535", port)
	}
	if host != "" && net.ParseIP(host) == nil && validateHostName(host) != nil {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return nil
}

// validateHostName accepts the host of a listen address: dot-separated
// labels of letters (either case), digits and inner hyphens, each at most
// 63 bytes, at most 253 in all. It is looser than a node's domain
// (protocol.ValidDomain): a host is only resolved, never signed.
func validateHostName(d string) error {
	if d == "" {
		return errors.New("must not be empty")
	}
	if len(d) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", d)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a valid domain name", d)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q is not a valid domain name (letters, digits, '-' and '.' only)", d)
			}
		}
	}
	return nil
}

func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	return f.Close()
}

// ParseLogLevel turns debug, info, warn or error into a slog level.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}
