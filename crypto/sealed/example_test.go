package sealed_test

import (
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// Alice sends Bob a message; Bob opens it and checks the sender against the
// key directory.
func Example() {
	aliceKeys, _ := identity.GenerateUserKeys()
	bobKeys, _ := identity.GenerateUserKeys()

	// Both publish their keys; the directory hands out these bundles.
	aliceBundle, _ := aliceKeys.Bundle("alice@a.example")
	bobBundle, _ := bobKeys.Bundle("bob@b.example")

	// Alice fetches and checks Bob's bundle, then seals to his HPKE key.
	if err := bobBundle.Verify("bob@b.example"); err != nil {
		fmt.Println("bob's keys:", err)
		return
	}
	env, err := sealed.Seal("bob@b.example", bobBundle.HPKEKey, aliceKeys, "alice@a.example",
		sealed.Message{ContentType: sealed.ContentText, Body: []byte("hello, bob")})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Bob opens the envelope the node pushed to him.
	msg, err := sealed.Open(bobKeys, "bob@b.example", env)
	if err != nil {
		fmt.Println(err)
		return
	}
	// He looks up msg.SenderAddress in the directory and compares keys.
	switch err := msg.VerifySenderBundle(aliceBundle); {
	case err == nil:
		fmt.Printf("%s (verified): %s\n", msg.SenderAddress, msg.Body)
	case errors.Is(err, sealed.ErrSenderKeyMismatch):
		fmt.Printf("%s (UNVERIFIED: key differs from the directory): %s\n", msg.SenderAddress, msg.Body)
	default:
		fmt.Printf("%s (UNVERIFIED: %v): %s\n", msg.SenderAddress, err, msg.Body)
	}
	// Output: alice@a.example (verified): hello, bob
}
