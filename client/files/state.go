package files

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/quicprochat/qpc/internal/atomicfile"
)

// stateVersion is the version of the resume state files.
const stateVersion = 1

// uploadState is what resumes an upload: the key the chunks were sealed
// with, for the file as it was.
type uploadState struct {
	Version int    `json:"v"`
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime"`
	Key     []byte `json:"key"`
	Chunk   int    `json:"chunk"`
}

// downloadState is what resumes a download: the chunks written to the
// part file and synced.
type downloadState struct {
	Version int    `json:"v"`
	ID      []byte `json:"id"`
	Done    []byte `json:"done"` // a bitmap of chunks, bit i of byte i/8
}

func stateName(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// readState reads a JSON state file into v; a missing one is (false, nil),
// a malformed one ErrBadState.
func readState(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%w: %s: %v", ErrBadState, path, err)
	}
	return true, nil
}

func writeState(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}
