package files

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSaveName bounds a saved file's name in bytes, below the 255 most
// file systems allow, leaving room for a suffix and PartSuffix.
const maxSaveName = 200

// SafeName is the name a received file is saved under, made from the
// name its sender chose: every file a recipient saves goes through it. It
// takes the last path element (a sender's "../x" or "a/b" names nothing
// outside the directory), replaces path separators, control and format
// characters (bidi overrides, which make "exe.txt" read as "txt.exe") and
// invalid UTF-8 with "_", strips leading dots and spaces (no hidden files,
// no "." or ".."), and bounds the length; an empty result is "file".
func SafeName(name string) string {
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(name[i:], "\uFFFD"):
			b.WriteByte('_')
		case r == '/' || r == '\\' || r == ':' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) ||
			unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimLeft(b.String(), ". ")
	s = strings.TrimRight(s, " ")
	if len(s) > maxSaveName {
		// Keep the extension, cut the stem at a rune boundary.
		ext := filepath.Ext(s)
		if len(ext) > 16 || !utf8.ValidString(ext) {
			ext = ""
		}
		stem := s[:maxSaveName-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		s = stem + ext
	}
	if s == "" {
		return "file"
	}
	return s
}

// ErrNoFreeName means every name SavePath tried in a directory is taken.
var ErrNoFreeName = errors.New("no free name to save the file under")

// SavePath is where a file named name (by its sender) is saved in dir:
// dir/SafeName(name), or, when that exists, the first of "stem (2).ext",
// "stem (3).ext", … that does not, so nothing is ever overwritten. A name
// whose download into it was interrupted (its PartSuffix file is there,
// the name itself not) is free: Download resumes it if it is the same
// file and starts over otherwise.
func SavePath(dir, name string) (string, error) {
	safe := SafeName(name)
	ext := filepath.Ext(safe)
	stem := strings.TrimSuffix(safe, ext)
	if stem == "" {
		stem, ext = safe, ""
	}
	for i := 1; i <= 1000; i++ {
		n := safe
		if i > 1 {
			n = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%w in %s: %s", ErrNoFreeName, dir, safe)
}
