package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProductionNodeProcessRefusesInsecureFiles is audit item 9 against
// the real binary: `qpc node --production` with one insecure file at a time
// must exit with an error naming the flag, the file and the fix, and start
// once all is in order.
func TestProductionNodeProcessRefusesInsecureFiles(t *testing.T) {
	t.Parallel()
	const domain = "node1.example.mesh"
	work := t.TempDir()
	caDir := filepath.Join(work, "ca")
	if code, out, errOut := runQPC("ca", "init", "--dir", caDir); code != exitOK {
		t.Fatalf("ca init: %d %s%s", code, out, errOut)
	}
	issue := func(dom, prefix string) {
		t.Helper()
		if code, out, errOut := runQPC("ca", "issue", "--dir", caDir, "--domain", dom, "--out", filepath.Join(work, prefix)); code != exitOK {
			t.Fatalf("ca issue: %d %s%s", code, out, errOut)
		}
	}
	issue(domain, "good")
	issue("node2.example.mesh", "other")

	// A node that ran once without --production made its own self-signed
	// certificate in its data dir.
	dataDir := filepath.Join(work, "data")
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	p.cmd.Process.Kill()
	p.done <- <-p.done // for the cleanup, which waits on it
	// Stores that the node made: the database inside is 0600.
	storeDir := filepath.Join(work, "store")

	run := func(t *testing.T, cert, key, store string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, qpcBin, "node", "--production", "--listen", "127.0.0.1:0", "--domain", domain,
			"--data-dir", dataDir, "--store-dir", store, "--tls-cert", cert, "--tls-key", key)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("qpc node --production did not exit with an error: %v\n%s", err, errb.String())
		}
		return ee.ExitCode(), errb.String()
	}
	goodCert, goodKey := filepath.Join(work, "good.crt"), filepath.Join(work, "good.key")
	looseKey := filepath.Join(work, "loose.key")
	data, _ := os.ReadFile(goodKey)
	os.WriteFile(looseKey, data, 0o600)
	os.Chmod(looseKey, 0o640)
	looseStore := filepath.Join(work, "loose-store")
	os.Mkdir(looseStore, 0o700)
	os.Chmod(looseStore, 0o777)

	for _, tt := range []struct {
		name             string
		cert, key, store string
		code             int
		mention          []string
	}{
		{"the node's own self-signed certificate", filepath.Join(dataDir, "node.crt"), filepath.Join(dataDir, "node.key"), storeDir,
			exitUsage, []string{"--tls-cert", filepath.Join(dataDir, "node.crt"), "auto-generated", "self-signed", "qpc ca issue"}},
		{"a certificate for another domain", filepath.Join(work, "other.crt"), filepath.Join(work, "other.key"), storeDir,
			exitUsage, []string{"--tls-cert", "other.crt", "does not name", domain}},
		{"a TLS key readable by the group (0640)", goodCert, looseKey, storeDir,
			exitUsage, []string{"--tls-key", looseKey, "0640", "chmod 600"}},
		{"a store dir writable by everyone (0777)", goodCert, goodKey, looseStore,
			exitFailure, []string{"--store-dir", looseStore, "0777", "chmod 700"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := run(t, tt.cert, tt.key, tt.store)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			for _, m := range tt.mention {
				if !strings.Contains(stderr, m) {
					t.Errorf("stderr does not mention %q:\n%s", m, stderr)
				}
			}
			if strings.Contains(stderr, "node serving") {
				t.Errorf("the node served:\n%s", stderr)
			}
		})
	}

	t.Run("a certificate of the community CA with a 0600 key", func(t *testing.T) {
		// startNodeProcEnv has its own flags; the rest come by their
		// environment twins.
		p := startNodeProcEnv(t, []string{"QPC_PRODUCTION=true", "QPC_TLS_CERT=" + goodCert,
			"QPC_TLS_KEY=" + goodKey, "QPC_STORE_DIR=" + storeDir}, dataDir, "127.0.0.1:0", qpcBin)
		if strings.Contains(p.logs.String(), "--production would refuse") {
			t.Errorf("a good setup was warned about:\n%s", p.logs)
		}
		if fi, err := os.Stat(filepath.Join(storeDir, "qpc.db")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the node's database: %v %v, want mode 0600", fi, err)
		}
	})
}
