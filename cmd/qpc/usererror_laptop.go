//go:build !router

package main

import "github.com/quicprochat/qpc/client/session"

// The session package is in the laptop build only.
func init() {
	wordedErrors = append(wordedErrors, wordedAs[*session.RevokedError], wordedAs[*session.NotADeviceError])
}
