package app

import (
	"log/slog"
	"path/filepath"
	"time"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/datadir"
	"github.com/quicprochat/qpc/node/store"
)

// checkFiles looks at the node's files before it uses them: what config
// checks of the --tls-cert and key files, plus what needs the opened data
// dir: the data and store dirs writable by group or others (who could swap
// the node key or the database), the node key and OPAQUE secrets readable
// by them, and a message database they can read or write (and so plant
// session records in). With --production the first problem is returned,
// and the node does not start; config.Validate has already refused the
// certificate and key files then. Without it, every problem is logged as a
// warning: a test or a laptop node runs, an admin sees what to fix.
func checkFiles(cfg config.Node, dir *datadir.Dir, log *slog.Logger) error {
	var problems []error
	if !cfg.Production {
		problems = cfg.FileProblems(time.Now())
	}
	problems = append(problems, dirProblems(cfg, dir)...)
	if cfg.Production && len(problems) > 0 {
		return problems[0]
	}
	for _, p := range problems {
		log.Warn("insecure file; --production would refuse to start", "err", p)
	}
	return nil
}

// dirProblems are the problems of the data dir, the store dir and their
// files, each a *config.FlagError naming the flag that points there.
func dirProblems(cfg config.Node, dir *datadir.Dir) []error {
	var problems []error
	add := func(flag string, err error) {
		if err != nil {
			problems = append(problems, &config.FlagError{Flag: flag, Err: err})
		}
	}
	add("data-dir", config.CheckDir(dir.Path()))
	for _, name := range []string{datadir.NodeKeyFile, datadir.OPAQUEFile} {
		add("data-dir", config.CheckKeyFile(dir.Join(name)))
	}
	storeDir := cfg.StorePath()
	if filepath.Clean(storeDir) != filepath.Clean(dir.Path()) {
		add("store-dir", config.CheckDir(storeDir))
	}
	add("store-dir", config.CheckDatabaseFile(filepath.Join(storeDir, store.FileName)))
	// The write-ahead log holds the newest messages until a checkpoint.
	add("store-dir", config.CheckDatabaseFile(filepath.Join(storeDir, store.FileName+store.WALSuffix)))
	return problems
}
