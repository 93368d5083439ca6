package identity

// A node is named by its Ed25519 key. Its node id is the first 26 characters
// of the lowercase, unpadded base32 encoding of SHA-256 over the 32-byte
// public key: 130 bits, short enough to read aloud and put in an mDNS TXT
// record.
//
// Keys are stored as PEM blocks of type "PRIVATE KEY" holding PKCS #8, the
// form openssl and Go's x509 package read.

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/pem"
	"fmt"
	"strings"
)

// NodeIDLen is the number of characters in a node id.
const NodeIDLen = 26

var nodeIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NodeID returns the node id of an Ed25519 public key.
func NodeID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return strings.ToLower(nodeIDEncoding.EncodeToString(sum[:]))[:NodeIDLen]
}

// NodeKey is a node's long-term Ed25519 key pair.
type NodeKey struct {
	Private ed25519.PrivateKey
}

// Public returns the public half of k.
func (k *NodeKey) Public() ed25519.PublicKey {
	return k.Private.Public().(ed25519.PublicKey)
}

// ID returns the node id of k.
func (k *NodeKey) ID() string { return NodeID(k.Public()) }

// GenerateNodeKey makes a new random node key.
func GenerateNodeKey() (*NodeKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate node key: %w", err)
	}
	return &NodeKey{Private: priv}, nil
}

// ParsePrivateKeyPEM decodes a PEM "PRIVATE KEY" block holding an Ed25519
// key in PKCS #8.
func ParsePrivateKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, ErrNoPEM
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: PEM block is %q", ErrNotEd25519, block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEd25519, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: key is %T", ErrNotEd25519, k)
	}
	return priv, nil
}

// MarshalPrivateKeyPEM encodes an Ed25519 key as a PEM "PRIVATE KEY" block.
func MarshalPrivateKeyPEM(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
