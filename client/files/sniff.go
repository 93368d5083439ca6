package files

import (
	"bytes"
	"unicode/utf8"
)

// This file names a file's media type from its first bytes, for the
// Reference's MIME (a hint the recipient's client shows and may act on).
// It is written here rather than taken from net/http's DetectContentType:
// that one function was what linked all of net/http into the qpc binary,
// where every linked package costs a `qpc node` resident pages at idle
// (issue 26, docs/bench.md round 6). The answers follow the same web
// sniffing rules for the formats people send most.

// sniffLen is how many leading bytes sniff looks at.
const sniffLen = 512

// signature is a media type known by fixed bytes at an offset.
type signature struct {
	offset int
	magic  string
	mime   string
}

// signatures are checked in order; the first that matches names the type.
var signatures = []signature{
	{0, "%PDF-", "application/pdf"},
	{0, "%!PS-Adobe-", "application/postscript"},
	{0, "\x89PNG\r\n\x1a\n", "image/png"},
	{0, "\xff\xd8\xff", "image/jpeg"},
	{0, "GIF87a", "image/gif"},
	{0, "GIF89a", "image/gif"},
	{0, "BM", "image/bmp"},
	{0, "\x00\x00\x01\x00", "image/x-icon"},
	{0, "\x1a\x45\xdf\xa3", "video/webm"},
	{0, "OggS\x00", "application/ogg"},
	{0, "ID3", "audio/mpeg"},
	{0, "fLaC", "audio/flac"},
	{0, "PK\x03\x04", "application/zip"},
	{0, "\x1f\x8b\x08", "application/x-gzip"},
	{0, "Rar!\x1a\x07", "application/x-rar-compressed"},
	{0, "wOFF", "font/woff"},
	{0, "wOF2", "font/woff2"},
	{0, "\x00asm", "application/wasm"},
	{4, "ftyp", ""}, // an ISO media file: see isoMedia
}

// riffTypes are the RIFF containers known by the form type at offset 8.
var riffTypes = map[string]string{"WEBP": "image/webp", "WAVE": "audio/wave", "AVI ": "video/avi"}

// sniff returns the media type of content that starts with head: a known
// signature's, text/html or text/plain for text, else
// application/octet-stream.
func sniff(head []byte) string {
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	if len(head) >= 12 && string(head[:4]) == "RIFF" {
		if t, ok := riffTypes[string(head[8:12])]; ok {
			return t
		}
	}
	for _, s := range signatures {
		if len(head) < s.offset+len(s.magic) || string(head[s.offset:s.offset+len(s.magic)]) != s.magic {
			continue
		}
		if s.mime == "" {
			if isoMedia(head) {
				return "video/mp4"
			}
			continue
		}
		return s.mime
	}
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		return "text/plain; charset=utf-8"
	}
	if !isText(head) {
		return "application/octet-stream"
	}
	if looksLikeHTML(head) {
		return "text/html; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// isoMedia reports whether head is an ISO base media file (MP4, M4A,
// 3GP, HEIC…) whose ftyp box names an mp4 brand.
func isoMedia(head []byte) bool {
	size := int(head[0])<<24 | int(head[1])<<16 | int(head[2])<<8 | int(head[3])
	if size < 12 || size%4 != 0 || size > len(head) {
		return false
	}
	for i := 8; i+3 <= size; i += 4 {
		if i == 12 {
			continue // the minor version, not a brand
		}
		if string(head[i:i+3]) == "mp4" {
			return true
		}
	}
	return false
}

// isText reports whether head has no byte that only binary data holds
// (controls other than tab, line feed, form feed, carriage return and
// escape) and is UTF-8, allowing a character cut at the end.
func isText(head []byte) bool {
	for _, b := range head {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\f' && b != '\r' && b != 0x1b || b == 0x7f {
			return false
		}
	}
	for len(head) > 0 {
		r, n := utf8.DecodeRune(head)
		if r == utf8.RuneError && n == 1 {
			return len(head) < utf8.UTFMax && !utf8.FullRune(head)
		}
		head = head[n:]
	}
	return true
}

// looksLikeHTML reports whether text starts, after white space, with a
// tag that only HTML starts with.
func looksLikeHTML(text []byte) bool {
	text = bytes.TrimLeft(text, "\t\n\f\r ")
	for _, tag := range []string{"<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<table", "<title", "<div", "<p", "<h1", "<!--"} {
		if len(text) > len(tag) && bytes.EqualFold(text[:len(tag)], []byte(tag)) {
			if c := text[len(tag)]; c == ' ' || c == '>' || tag == "<!--" {
				return true
			}
		}
	}
	return false
}
