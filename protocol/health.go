package protocol

import (
	"time"
)

// Identity is what a node says about itself.
type Identity struct {
	Version  string // release, e.g. "0.1.0" or "dev"
	Commit   string // source revision or "unknown"
	Platform string // "goos/goarch"
	NodeID   string // see crypto/identity.NodeID
	Domain   string // users of this node are name@Domain
}

// Health is a node's answer to a health check.
type Health struct {
	Identity
	Uptime time.Duration
	// Links are the federation links; nil without federation.
	Links []Link
	// FederationCA holds the community CA certificates (DER) federation
	// trusts, for clients to check key answers with; nil without
	// federation.
	FederationCA [][]byte
	// MDNSInstance is the instance name the node announces with mDNS
	// (renamed after a conflict on the link); empty without mDNS.
	MDNSInstance string
	// Files is the node's file store; zero without one.
	Files FileStoreHealth
	// KTHead is the node's latest signed key transparency tree head
	// (kt.SignedHead encoding); nil before the log's first entry.
	KTHead []byte
	// KTEvidence is the evidence of misbehaving key transparency logs the
	// node holds, newest first.
	KTEvidence []KTEvidence
	// ReportKey is the X-Wing public key that reports to the node's admin
	// are sealed to (crypto/report); nil when the node takes no reports.
	ReportKey []byte
	// Registration is the node's registration policy (Registration*);
	// "" from a node older than the policy, which is open.
	Registration string
}

// FileStoreHealth is how full a node's file store is.
type FileStoreHealth struct {
	// Bytes is what the files held count against Limit; Count how many.
	Bytes, Limit uint64
	Count        int
}
