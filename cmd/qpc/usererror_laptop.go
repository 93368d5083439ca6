//go:build !router

package main

import (
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/crypto/attest"
)

// The session package is in the laptop build only.
func init() {
	wordedErrors = append(wordedErrors, wordedAs[*session.RevokedError], wordedAs[*session.NotADeviceError],
		// Who signed the swapped keys, for whom: what to tell the admin.
		wordedAs[*attest.ForgedError])
}
