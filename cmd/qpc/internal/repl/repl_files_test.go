package repl

import (
	"path/filepath"
	"testing"
)

func TestExpandHomeReadsTildeAsTheHomeDirectory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for in, want := range map[string]string{
		"~/Downloads/x.pdf": filepath.Join(home, "Downloads/x.pdf"),
		"/tmp/~/x":          "/tmp/~/x",
		"~bob/x":            "~bob/x",
		"plain":             "plain",
	} {
		if got := expandHome(in); got != want {
			t.Errorf("expandHome(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFileCommandsWithoutANodeSaySo(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob")
	mustContain(t, tr.do("/send-file /etc/hostname"), "files need a connection to the node")
	mustContain(t, tr.do("/download 1"), "files need a connection to the node")
}
