package config

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts the environment twin of every node flag.
const EnvPrefix = "QPC_"

// EnvName returns the environment twin of a flag: "tls-cert" → QPC_TLS_CERT.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// BindFlags defines c's flags on fs, with c's current values as defaults.
// Each usage text names the flag's environment twin.
func (c *Node) BindFlags(fs *flag.FlagSet) {
	str := func(p *string, name, usage string) {
		fs.StringVar(p, name, *p, usage+" (env "+EnvName(name)+")")
	}
	str(&c.Listen, "listen", "UDP address for QUIC, host:port")
	str(&c.Domain, "domain", "mail domain of this node; its users are name@domain")
	str(&c.DataDir, "data-dir", "directory for the node key and certificates (created 0700)")
	str(&c.TLSCert, "tls-cert", "PEM certificate to serve (default: self-signed in the data dir)")
	str(&c.TLSKey, "tls-key", "PEM private key of --tls-cert")
	fs.BoolVar(&c.Production, "production", c.Production,
		"refuse insecure defaults such as the self-signed certificate (env "+EnvName("production")+")")
	str(&c.LogLevel, "log-level", "log level: debug, info, warn or error")
	str(&c.LogFormat, "log-format", "log format: text or json")

	str(&c.StoreDir, "store-dir", "directory of the message database (default: the data dir); RAM or USB spares flash")
	dur := func(p *time.Duration, name, usage string) {
		fs.DurationVar(p, name, *p, usage+" (env "+EnvName(name)+")")
	}
	num := func(p *int, name, usage string) {
		fs.IntVar(p, name, *p, usage+" (env "+EnvName(name)+")")
	}
	dur(&c.MessageTTL, "message-ttl", "how long undelivered messages are kept unless the sender asks otherwise")
	dur(&c.MaxMessageTTL, "max-message-ttl", "the longest a sender may ask a message to be kept")
	num(&c.MaxPayload, "max-payload", "largest message accepted, in bytes")
	num(&c.MailboxMaxMessages, "mailbox-max-messages", "most messages one account's mailbox holds, all its devices' queues together")
	fs.Int64Var(&c.MailboxMaxBytes, "mailbox-max-bytes", c.MailboxMaxBytes,
		"most message bytes one account's mailbox holds, all its devices' queues together (env "+EnvName("mailbox-max-bytes")+")")
	num(&c.EnqueueRate, "enqueue-rate", "messages per second one connection may send (bursts of twice that)")
	num(&c.MaxConnections, "max-connections", "most concurrent client connections")
	num(&c.MaxConnectionsPerSource, "max-connections-per-source", "most client connections from one IPv4 address or IPv6 /64")
	num(&c.MaxUnauthenticated, "max-unauthenticated", "most client connections not yet logged in; when full, a newcomer from an address holding fewer takes the place of one from the address holding most")
	dur(&c.LoginTimeout, "login-timeout", "close a client connection that has not logged in within this time")
	dur(&c.RPCTimeout, "rpc-timeout", "longest time one call may take")
	dur(&c.IdleTimeout, "idle-timeout", "close connections silent for this long")
	dur(&c.SessionTTL, "session-ttl", "how long a login lasts")
	num(&c.MaxAccounts, "max-accounts", "most accounts the node holds; registration beyond it is refused")
	fs.Int64Var(&c.StoreMaxBytes, "store-max-bytes", c.StoreMaxBytes,
		"most message bytes all mailboxes together hold; a full store refuses new messages (env "+EnvName("store-max-bytes")+")")
	fs.BoolVar(&c.StoreWAL, "store-wal", c.StoreWAL,
		"write messages and acks to a write-ahead log beside the store, one sync per group commit, and into the store "+
			"at checkpoints; false: a store transaction per group commit (env "+EnvName("store-wal")+")")
	num(&c.RegisterRate, "register-rate", "registration calls per hour from one address (IPv6: one /64); a registration takes two")
	num(&c.RegisterRateNode, "register-rate-node", "accounts per hour the node creates for all addresses together")
	num(&c.LoginRate, "login-rate", "logins per minute from one address (IPv6: one /64) after a burst of this or 64, whichever is more")
	dur(&c.NameHold, "name-hold", "how long the name of a deleted account cannot be registered again")
	str(&c.Registration, "registration", "who may register: open (anyone who reaches the node), invite (with a code from `qpc admin invite`) or closed")
	str(&c.AdminSocket, "admin-socket", "Unix socket for `qpc admin` (mode 0600); empty: no admin socket")
	str(&c.MetricsListen, "metrics-listen", "TCP address for Prometheus metrics at /metrics; empty: off")
	fs.BoolVar(&c.MetricsPublic, "metrics-public", c.MetricsPublic,
		"allow --metrics-listen beyond loopback with --production (env "+EnvName("metrics-public")+")")

	fs.BoolVar(&c.MDNS, "mdns", c.MDNS,
		"announce this node and find other nodes with mDNS (env "+EnvName("mdns")+")")
	fs.Var((*listFlag)(&c.MDNSIfaces), "mdns-iface",
		"run mDNS on network interface `IFACE`, repeatable; default every multicast interface (env "+EnvName("mdns-iface")+
			", a comma- or space-separated list)")

	str(&c.FederationCert, "federation-cert", "PEM certificate from the community CA presented to other nodes; empty: federation off")
	str(&c.FederationKey, "federation-key", "PEM private key of --federation-cert")
	str(&c.FederationCA, "federation-ca", "PEM certificate of the community CA that peers must chain to")
	fs.Var((*listFlag)(&c.Peers), "peer",
		"federation peer `host:port` to keep a link to, repeatable; discovered nodes are linked too (env "+EnvName("peer")+
			", a comma- or space-separated list)")
	fs.Var((*listFlag)(&c.FederationDeny), "federation-deny",
		"refuse the peer certificate with SHA-256 `FINGERPRINT`, repeatable (env "+EnvName("federation-deny")+
			", a comma- or space-separated list)")
	num(&c.FederationRate, "federation-rate", "messages per second one peer may relay to this node (bursts of twice that)")
	dur(&c.KTGossipInterval, "kt-gossip-interval", "how often each federation link exchanges key transparency heads")

	dur(&c.MeshTTL, "mesh-ttl", "store-and-forward: how long envelopes this node makes may wait in the mesh, "+
		"and the longest a sender may ask for (1s to 720h)")
	fs.Var((*hopsFlag)(&c.MeshMaxHops), "mesh-max-hops", "store-and-forward: the most hops `N` an envelope this node makes may take, "+
		"and the most a sender may ask for (1 to 32) (env "+EnvName("mesh-max-hops")+")")
	size := func(p *int64, name, usage string) {
		fs.Var((*mibFlag)(p), name, usage+" (env "+EnvName(name)+")")
	}
	size(&c.MeshStoreBytes, "mesh-store-size", "store-and-forward: `MiB` of envelopes this node holds for other nodes and its own users")
	size(&c.MeshDomainBytes, "mesh-domain-quota", "store-and-forward: `MiB` of envelopes held for one destination domain")
	size(&c.MeshOriginBytes, "mesh-origin-quota", "store-and-forward: `MiB` of envelopes held from one origin node")
	size(&c.MeshNeighbourBytes, "mesh-neighbour-quota", "store-and-forward: `MiB` of envelopes held that one federation neighbour handed over, "+
		"whatever origins they claim (0: half of --mesh-store-size)")
	num(&c.MeshSeenMax, "mesh-seen-max", "store-and-forward: envelope ids remembered, so that none is delivered or forwarded twice")

	num(&c.ChannelRetain, "channel-retain", "broadcast channels: posts kept per channel for late joiners (1 to 10000)")
	dur(&c.ChannelRetention, "channel-retention", "broadcast channels: the longest a post is kept and relayed after it was made, "+
		"and the TTL of the posts this node's users make unless they ask for less (1m to 720h)")
	num(&c.ChannelMax, "channel-max", "broadcast channels: channels with kept posts; past it, the posts of the channel "+
		"whose newest post is oldest are evicted (1 to 65536)")
	size(&c.ChannelStoreSize, "channel-store-size", "broadcast channels: `MiB` of kept posts; past it, the posts that expire first are evicted")
	num(&c.ChannelSeenMax, "channel-seen-max", "broadcast channels: post ids remembered until their post expires, "+
		"so that none is relayed twice; when full, new posts are refused")
	num(&c.ChannelOriginRate, "channel-origin-rate", "broadcast channels: posts per minute accepted from one origin node (at least 1)")
	num(&c.ChannelUserRate, "channel-user-rate", "broadcast channels: posts per minute one local user may publish (at least 1)")
	num(&c.ChannelNeighbourRate, "channel-neighbour-rate", "broadcast channels: relayed posts per minute accepted from one federation "+
		"neighbour, whatever origins they claim (at least 1)")
	dur(&c.ChannelRelayRetention, "channel-relay-retention", "broadcast channels: the longest a relayed post is kept and its id "+
		"remembered (1m to 720h; capped at --channel-retention)")
	c.bindFiles(size, dur)
}

// hopsFlag is a hop count, 0 to 255; Validate narrows the range.
type hopsFlag uint8

func (h *hopsFlag) String() string { return strconv.FormatUint(uint64(*h), 10) }

func (h *hopsFlag) Set(v string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 8)
	if err != nil {
		return fmt.Errorf("%q is not a hop count (1 to %d)", v, maxMeshMaxHops)
	}
	*h = hopsFlag(n)
	return nil
}

// mibFlag is a size given in whole MiB and kept in bytes.
type mibFlag int64

func (m *mibFlag) String() string { return strconv.FormatInt(int64(*m)>>20, 10) }

func (m *mibFlag) Set(v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n > math.MaxInt64>>20 {
		return fmt.Errorf("%q is not a whole number of MiB", v)
	}
	*m = mibFlag(n << 20)
	return nil
}

// listFlag is a repeatable flag. Each value may itself be a comma- or
// space-separated list, which is how its environment twin carries several.
type listFlag []string

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *listFlag) Set(v string) error {
	items := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(items) == 0 {
		return errors.New("empty value")
	}
	*l = append(*l, items...)
	return nil
}

// Load defines c's flags on fs, parses args into them, fills every flag not
// given on the command line from its environment twin (looked up with
// getenv), and validates the result. A bad value is a *FlagError that names
// the flag, and the environment variable when the value came from one.
func (c *Node) Load(fs *flag.FlagSet, args []string, getenv func(string) (string, bool)) error {
	fromEnv, err := c.parse(fs, args, getenv)
	if err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		var fe *FlagError
		if errors.As(err, &fe) {
			fe.Env = fromEnv[fe.Flag]
		}
		return err
	}
	return nil
}

// Parse is Load without Validate: it fails only on a value that is not of
// its flag's type (a number, a duration, a list) or an unknown flag, and
// looks at nothing on this machine (interfaces, files). An init script
// runs it before it starts a node, when the interfaces the node needs may
// not be up yet.
func (c *Node) Parse(fs *flag.FlagSet, args []string, getenv func(string) (string, bool)) error {
	_, err := c.parse(fs, args, getenv)
	return err
}

// parse binds, parses and reads the environment; it returns which flags
// came from which variable.
func (c *Node) parse(fs *flag.FlagSet, args []string, getenv func(string) (string, bool)) (map[string]string, error) {
	c.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	fromEnv := map[string]string{}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		env := EnvName(f.Name)
		if v, ok := getenv(env); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = &FlagError{Flag: f.Name, Env: env, Err: serr}
			}
			fromEnv[f.Name] = env
		}
	})
	if err != nil {
		return nil, err
	}
	return fromEnv, nil
}
