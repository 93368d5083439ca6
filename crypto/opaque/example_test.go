package opaque_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// Example shows a registration and two logins. In qpc the client and the
// node run in different processes and exchange the encoded messages; here
// they share one.
func Example() {
	cfg := opaque.DefaultConfig()
	cfg.KSF = opaque.Argon2id{Time: 1, Memory: 1024, Threads: 1} // cheap, for the example only

	secrets, err := opaque.GenerateServerSecrets(cfg) // persisted by the node
	if err != nil {
		log.Fatal(err)
	}
	server, err := opaque.NewServer(cfg, secrets)
	if err != nil {
		log.Fatal(err)
	}
	client, err := opaque.NewClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	user, password := []byte("alice"), []byte("correct horse battery staple")

	// Registration.
	req, _ := client.CreateRegistrationRequest(password)
	resp, _ := server.CreateRegistrationResponse(req, user)
	record, exportKey, _ := client.FinalizeRegistrationRequest(resp, nil, user)
	stored := record.Encode() // the node stores this for "alice"

	// Login.
	ke1, _ := client.GenerateKE1(password)
	rec, _ := opaque.DecodeRegistrationRecord(server.Suite(), stored)
	ke2, state, _ := server.GenerateKE2(nil, rec, user, ke1, user)
	ke3, clientKey, loginExportKey, err := client.GenerateKE3(user, nil, ke2)
	if err != nil {
		log.Fatal(err)
	}
	serverKey, err := state.ServerFinish(ke3)
	fmt.Println("logged in:", err == nil)
	fmt.Println("same session key:", bytes.Equal(clientKey, serverKey))
	fmt.Println("same export key:", bytes.Equal(exportKey, loginExportKey))

	// A wrong password fails on the client, before KE3 is sent.
	ke1, _ = client.GenerateKE1([]byte("Tr0ub4dor&3"))
	ke2, _, _ = server.GenerateKE2(nil, rec, user, ke1, user)
	_, _, _, err = client.GenerateKE3(user, nil, ke2)
	fmt.Println("wrong password:", errors.Is(err, opaque.ErrEnvelopeRecovery))
	// Output:
	// logged in: true
	// same session key: true
	// same export key: true
	// wrong password: true
}
