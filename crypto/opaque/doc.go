// Package opaque implements OPAQUE-3DH, the augmented password-authenticated
// key exchange of RFC 9807, for the suites ristretto255-SHA512 (qpc's) and
// P256-SHA256. The password never leaves the client, and the record the
// server stores does not allow an offline dictionary attack without the
// server's OPRF seed.
//
// # Flows
//
// The API follows the step names of RFC 9807 §5 and §6, so the RFC reads as
// its documentation. Registration, over a channel that authenticates the
// server and keeps the record confidential:
//
//	client: req := c.CreateRegistrationRequest(password)            → server
//	server: resp := s.CreateRegistrationResponse(req, credentialID)  → client
//	client: record, exportKey := c.FinalizeRegistrationRequest(resp, serverID, clientID) → server stores record
//
// Login:
//
//	client: ke1 := c.GenerateKE1(password)                                    → server
//	server: ke2, st := s.GenerateKE2(serverID, record, credentialID, ke1, clientID) → client
//	client: ke3, sessionKey, exportKey := c.GenerateKE3(clientID, serverID, ke2)    → server
//	server: sessionKey := st.ServerFinish(ke3)
//
// For an unknown credentialID the server passes a nil record: GenerateKE2
// then answers from a fake record derived from ServerSecrets.FakeRecordSeed
// and the credential identifier (RFC 9807 §10.9), stable across calls, and
// the client fails at GenerateKE3 with ErrEnvelopeRecovery, exactly as with
// a wrong password. Every step that draws randomness has a Deterministic
// variant that takes those values as arguments, for the RFC's test vectors.
//
// Client and server must agree on a Config: the suite, the key stretching
// function and the context. qpc's is DefaultConfig: ristretto255-SHA512,
// Argon2id with t=3, m=64 MiB, p=4 and 16 zero bytes of salt, and the
// context DefaultContext ("quicprochat/1").
//
// # Wire format
//
// Every field has a fixed length, so each message is the concatenation of
// its fields in the order below (RFC 9807 §5.1 and §6.1), with no tags and
// no length prefixes. Lengths in bytes:
//
//	                      ristretto255-SHA512   P256-SHA256
//	Noe  OPRF element             32                33 (compressed SEC1)
//	Npk  AKE public key           32                33 (compressed SEC1)
//	Nsk  AKE private key          32                32 (big-endian)
//	Nh   hash, masking key        64                32
//	Nm   MAC                      64                32
//	Nx   KDF output, session key  64                32
//	Nn   nonce                    32                32
//
//	RegistrationRequest  = blinded_message[Noe]                              32 | 33
//	RegistrationResponse = evaluated_message[Noe] server_public_key[Npk]     64 | 66
//	Envelope             = envelope_nonce[Nn] auth_tag[Nm]                   96 | 64
//	RegistrationRecord   = client_public_key[Npk] masking_key[Nh] Envelope  192 | 129
//	KE1 = CredentialRequest AuthRequest                                      96 | 98
//	  CredentialRequest  = blinded_message[Noe]
//	  AuthRequest        = client_nonce[Nn] client_public_keyshare[Npk]
//	KE2 = CredentialResponse AuthResponse                                   320 | 259
//	  CredentialResponse = evaluated_message[Noe] masking_nonce[Nn]
//	                       masked_response[Npk+Nn+Nm]
//	  AuthResponse       = server_nonce[Nn] server_public_keyshare[Npk]
//	                       server_mac[Nm]
//	KE3 = client_mac[Nm]                                                     64 | 32
//
// The masked_response is server_public_key ‖ Envelope XORed with a pad
// derived from the record's masking key. The decoders (DecodeKE1 and so on)
// refuse any other length, points that are not on the curve, non-canonical
// encodings and the identity element; the protocol steps check the same
// again, since callers may build messages by hand. Errors are the sentinels
// of errors.go, wrapped with detail.
//
// The context and the identities never travel in these messages; they enter
// the transcript, so a mismatch shows as a failed login.
package opaque
