package repl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeKeeper records what /backup and /export asked of it, for the
// REPL's side of them (the real keeper is tested with a real REPL in
// cmd/qpc).
type fakeKeeper struct {
	calls []string
	pw    string
}

func (k *fakeKeeper) Backup(_ context.Context, file string, pw []byte, progress func(done, total int64)) (string, error) {
	k.calls, k.pw = append(k.calls, "backup "+file), string(pw)
	progress(1<<20, 1<<20)
	return "backed up", nil
}

func (k *fakeKeeper) Export(_ context.Context, name, file string, pw []byte) (string, error) {
	k.calls, k.pw = append(k.calls, "export "+name+" "+file), string(pw)
	return "exported", nil
}

func (k *fakeKeeper) VerifyArchive(file string, pw []byte) (string, error) {
	k.calls, k.pw = append(k.calls, "verify "+file), string(pw)
	return "VALID", nil
}

func keepRepl(t *testing.T) (*testRepl, *fakeKeeper) {
	tr := newTestRepl(t)
	k := &fakeKeeper{}
	tr.r.keeper = k
	return tr, k
}

// The passphrase is asked twice for a new file and once to verify; it is
// read from the terminal (here the script's lines), never taken as a
// message; two different ones write nothing.
func TestReplBackupAndExportAskThePassphraseAndCallTheKeeper(t *testing.T) {
	dir := t.TempDir()
	tr, k := keepRepl(t)
	tr.io.lines = []string{"long passphrase one", "long passphrase one"}
	out := tr.do("/backup " + filepath.Join(dir, "b"))
	mustContain(t, out, "Backup passphrase: ", "Again: ", "backed up", "backup [", "100%")
	if strings.Contains(out, "long passphrase one") {
		t.Errorf("the passphrase was printed:\n%s", out)
	}
	tr.io.lines = []string{"pass two", "pass two"}
	mustContain(t, tr.do("/export @bob "+filepath.Join(dir, "a")), "exported")
	tr.io.lines = []string{"pass two"}
	mustContain(t, tr.do("/export verify "+filepath.Join(dir, "a")), "VALID")
	want := []string{"backup " + filepath.Join(dir, "b"), "export @bob " + filepath.Join(dir, "a"), "verify " + filepath.Join(dir, "a")}
	if strings.Join(k.calls, "|") != strings.Join(want, "|") || k.pw != "pass two" {
		t.Errorf("keeper calls %q, last passphrase %q", k.calls, k.pw)
	}
	if len(tr.io.lines) != 0 {
		t.Errorf("lines left unread: %q", tr.io.lines)
	}

	tr.io.lines = []string{"one", "another"}
	mustContain(t, tr.do("/backup "+filepath.Join(dir, "c")), "the two passphrases differ; nothing was written")
	if len(k.calls) != 3 {
		t.Errorf("the keeper was called with passphrases that differ: %q", k.calls)
	}
}

// A file that exists is refused before any passphrase is asked; a REPL
// without a keeper, and /export with one argument, say what to do.
func TestReplBackupRefusesAnExistingFileAndSaysWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "there")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tr, k := keepRepl(t)
	out := tr.do("/backup "+existing, "/export @bob "+existing)
	mustContain(t, out, "/backup: "+existing+" exists", "/export: "+existing+" exists")
	if strings.Contains(out, "passphrase") || len(k.calls) != 0 {
		t.Errorf("asked or called for an existing file: %q %q", out, k.calls)
	}
	mustContain(t, tr.do("/export @bob"), "usage: /export <conversation> <file> | verify <file>")
	mustContain(t, newTestRepl(t).do("/backup x", "/export @bob x"), "/backup: not in this REPL; use qpc backup create", "/export: not in this REPL; use qpc export")
}
