package channel_test

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/crypto/channel"
)

// Alice starts a channel and invites Bob with its share string; she posts,
// and Bob opens the body his node pushed to him.
func Example() {
	secret, err := channel.NewSecret()
	if err != nil {
		fmt.Println(err)
		return
	}
	topic, _ := channel.NormalizeTopic("Kiez-News")
	invite := channel.Share{Topic: topic, Secret: secret}.String()

	// Bob scans or pastes the invite.
	share, err := channel.ParseShare(invite)
	if err != nil {
		fmt.Println(err)
		return
	}
	bobKeys := share.Secret.Keys() // bob follows channel bobKeys.ID on his node

	// Alice posts; her node floods the body under the channel id.
	alicePub, aliceKey, _ := ed25519.GenerateKey(nil)
	body, err := channel.Seal(secret.Keys(), "alice@a.example", aliceKey, "Flohmarkt Sunday 10:00, Weserstr.", time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}

	m, err := channel.Open(bobKeys, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Bob compares the key with the one alice@a.example's home node
	// publishes (here known directly) before showing the post as hers.
	verified := m.AuthorKey.Equal(alicePub)
	fmt.Printf("#%s %s (verified %v, %d-byte body): %s\n", share.Topic, m.Author, verified, len(body), m.Text)
	// Output: #kiez-news alice@a.example (verified true, 256-byte body): Flohmarkt Sunday 10:00, Weserstr.
}
