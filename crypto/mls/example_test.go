package mls_test

import (
	"fmt"
	"log"

	"github.com/quicprochat/qpc/crypto/mls"
)

// Alice creates a group, adds Bob from his KeyPackage, and they exchange a
// message. A delivery service would carry the KeyPackage, the commit and
// the Welcome; here they are passed directly.
func Example() {
	suite, err := mls.Suite(mls.X25519AES128GCMSHA256Ed25519)
	if err != nil {
		log.Fatal(err)
	}
	alice, err := mls.NewKeyPackage(suite, mls.KeyPackageParams{Identity: []byte("alice")})
	if err != nil {
		log.Fatal(err)
	}
	bob, err := mls.NewKeyPackage(suite, mls.KeyPackageParams{Identity: []byte("bob")})
	if err != nil {
		log.Fatal(err)
	}

	group, err := mls.NewGroup(suite, []byte("tea club"), alice, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	out, err := group.AddMembers(&bob.KeyPackage)
	if err != nil {
		log.Fatal(err)
	}
	// The delivery service accepted the commit: enter the new epoch.
	if err := group.MergePendingCommit(); err != nil {
		log.Fatal(err)
	}
	bobGroup, err := mls.JoinGroup(out.Welcome, bob, nil, nil)
	if err != nil {
		log.Fatal(err)
	}

	msg, err := group.Encrypt([]byte("hello bob"), nil)
	if err != nil {
		log.Fatal(err)
	}
	got, err := bobGroup.ProcessMessage(msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s says %q\n", got.Credential.Identity, got.ApplicationData)
	for _, m := range bobGroup.Roster() {
		fmt.Printf("leaf %d: %s\n", m.Leaf, m.Credential.Identity)
	}
	// Output:
	// alice says "hello bob"
	// leaf 0: alice
	// leaf 1: bob
}
