// Package flatjson reads the small JSON files qpc keeps beside its data (the
// node's OPAQUE secrets, a laptop's current account): one object whose
// members are strings, base64 strings and integers.
//
// It exists for flash: encoding/json's decoder, with the reflection and
// generic sorts it brings, costs the mips router binary about 100 KB, and
// those two files were its only users there (log/slog links only the
// encoder). The files stay JSON, written by encoding/json as before, so
// nothing on disk changes and no migration is needed.
//
// What it accepts is RFC 8259 JSON; it agrees with encoding/json decoding
// into a struct of string, []byte and int fields (FuzzAgreesWithEncodingJSON
// holds it to that), except that member names match exactly, not also
// case-insensitively. Members it is not asked for may hold any JSON value
// and are skipped.
package flatjson
