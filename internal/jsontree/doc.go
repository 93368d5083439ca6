// Package jsontree is the router build's one JSON reader: it reads a JSON
// document (RFC 8259) into a tree of values, without reflection. Its users
// are `qpc admin`, which turns the node's admin answers into tables, and
// the two small files qpc keeps beside its data and reads on the router
// too (the node's OPAQUE secrets, a laptop's current account).
//
// It exists for flash: encoding/json's decoder, with the reflection and
// generic sorts it brings, costs the mips router binary about 100 KB; this
// reader costs a few KiB. The files and answers stay JSON written by
// encoding/json's encoder (log/slog links it anyway), so nothing on disk
// or on the admin socket changes.
//
// Reading is strict: one value and white space around it, the number
// grammar exactly, escapes checked, no control characters in strings, and
// arrays and objects nested at most MaxDepth deep (so hostile input cannot
// exhaust the stack or the heap by depth). Invalid UTF-8 and lone UTF-16
// surrogate escapes read as U+FFFD, as encoding/json reads them. Every
// refusal wraps ErrSyntax.
//
// Two ways to read a value: the loose accessors (Get, Str, Int, Bool,
// List) give the zero of what was asked for a value of another kind, for
// tables that show what is there; the field readers of an object
// (StringField, BytesField, IntField) read a member as encoding/json
// decodes it into a struct field of that type and wrap ErrType when it is
// of another type, for files whose contents must be right.
//
// A key repeated in an object: Get returns its last value; the field
// readers check every value in turn, as encoding/json assigns each, so a
// repeated member of the wrong type is an error even when the last one is
// right. Keys match exactly, not also case-insensitively as encoding/json
// falls back to: what we read was written with exactly its keys.
package jsontree
