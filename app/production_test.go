package app

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/datadir"
	"github.com/quicprochat/qpc/node/store"
)

// TestProductionRefusesLooseDirsAndFiles is audit item 9's data-dir half:
// a node that ran once (so its files exist, with the modes it gave them)
// is loosened one way at a time; --production refuses to start, naming the
// flag, the file and the fix, and without --production the node starts and
// logs the same problem.
func TestProductionRefusesLooseDirsAndFiles(t *testing.T) {
	for _, tt := range []struct {
		name     string
		loosen   func(cfg config.Node) string // returns the path it loosened
		flag     string
		sentinel error
	}{
		{"a data dir writable by everyone (0777)", func(cfg config.Node) string {
			return chmod(t, cfg.DataDir, 0o777)
		}, "data-dir", config.ErrLooseDir},
		{"a store dir writable by everyone (0777)", func(cfg config.Node) string {
			return chmod(t, cfg.StoreDir, 0o777)
		}, "store-dir", config.ErrLooseDir},
		{"a message database readable and writable by everyone (0666)", func(cfg config.Node) string {
			return chmod(t, filepath.Join(cfg.StoreDir, store.FileName), 0o666)
		}, "store-dir", config.ErrLooseDatabase},
		{"a message write-ahead log readable by everyone (0644)", func(cfg config.Node) string {
			return chmod(t, filepath.Join(cfg.StoreDir, store.FileName+store.WALSuffix), 0o644)
		}, "store-dir", config.ErrLooseDatabase},
		{"a node key readable by the group (0640)", func(cfg config.Node) string {
			return chmod(t, filepath.Join(cfg.DataDir, datadir.NodeKeyFile), 0o640)
		}, "data-dir", config.ErrKeyNotPrivate},
		{"OPAQUE secrets readable by everyone (0644)", func(cfg config.Node) string {
			return chmod(t, filepath.Join(cfg.DataDir, datadir.OPAQUEFile), 0o644)
		}, "data-dir", config.ErrKeyNotPrivate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, issue := testCA(t, "ca")
			certFile, keyFile := issue(dir, "node1.example.mesh", nil)
			cfg := testConfig(t)
			cfg.TLSCert, cfg.TLSKey, cfg.StoreDir, cfg.Production = certFile, keyFile, t.TempDir(), true
			n, err := NewNode(cfg, testLogger(t))
			if err != nil {
				t.Fatalf("a node with the modes it made itself: %v", err)
			}
			n.Close()
			// The node made its secrets and database owner-only.
			for _, f := range []string{filepath.Join(cfg.DataDir, datadir.NodeKeyFile), filepath.Join(cfg.DataDir, datadir.OPAQUEFile),
				filepath.Join(cfg.StoreDir, store.FileName), filepath.Join(cfg.StoreDir, store.FileName+store.WALSuffix)} {
				if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("%s: %v %v, want mode 0600", f, fi.Mode(), err)
				}
			}

			path := tt.loosen(cfg)
			_, err = NewNode(cfg, testLogger(t))
			var fe *config.FlagError
			if !errors.As(err, &fe) || fe.Flag != tt.flag || !errors.Is(err, tt.sentinel) {
				t.Fatalf("NewNode = %v, want --%s with %v", err, tt.flag, tt.sentinel)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod") {
				t.Errorf("message %q does not name %s and the fix", err, path)
			}

			cfg.Production = false
			var logs bytes.Buffer
			n, err = NewNode(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("without --production: %v", err)
			}
			n.Close()
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), path) {
				t.Errorf("no warning naming %s in the log:\n%s", path, logs.String())
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWithoutProductionALooseTLSKeyIsLoggedNotRefused(t *testing.T) {
	dir := t.TempDir()
	_, issue := testCA(t, "ca")
	certFile, keyFile := issue(dir, "node1.example.mesh", nil)
	chmod(t, keyFile, 0o640)
	cfg := testConfig(t)
	cfg.TLSCert, cfg.TLSKey, cfg.StoreDir = certFile, keyFile, t.TempDir()
	var logs bytes.Buffer
	n, err := NewNode(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("without --production: %v", err)
	}
	n.Close()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), keyFile) || !strings.Contains(logs.String(), "0640") {
		t.Errorf("no warning naming %s in the log:\n%s", keyFile, logs.String())
	}
	cfg.Production = true
	if _, err := NewNode(cfg, testLogger(t)); !errors.Is(err, config.ErrKeyNotPrivate) {
		t.Errorf("with --production: %v, want ErrKeyNotPrivate", err)
	}
}
