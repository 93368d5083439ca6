// Package signedtest is the test suite every signed mesh message format
// (mesh/envelope, mesh/flood) passes: what the formats share because they
// embed signed.Header and decode through package signed, checked once
// here and run by each format's tests on its own messages. The formats'
// own tests keep only what differs between them (their fields, their ids,
// their wire layout).
package signedtest
