package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/internal/atomicfile"
	"github.com/quicprochat/qpc/internal/jsontree"
)

// OPAQUEFile holds the node's OPAQUE server secrets. Losing it locks every
// user out (their records no longer log in); leaking it together with the
// message database allows offline password guessing.
const OPAQUEFile = "opaque.json"

// opaqueFileVersion is the version of the OPAQUE secrets file format.
const opaqueFileVersion = 1

// opaqueFile is the JSON form of OPAQUEFile.
type opaqueFile struct {
	Version        int    `json:"version"`
	Suite          string `json:"suite"`
	PrivateKey     []byte `json:"private_key"`
	OPRFSeed       []byte `json:"oprf_seed"`
	FakeRecordSeed []byte `json:"fake_record_seed"`
}

// readOPAQUEFile decodes OPAQUEFile with jsontree, not encoding/json: the
// router build links no other JSON decoder, and encoding/json's costs its
// flash about 100 KB (issue 25). The file is written with encoding/json as
// before, so its format is unchanged.
func readOPAQUEFile(data []byte) (f opaqueFile, err error) {
	o, err := jsontree.ParseObject(data)
	if err != nil {
		return f, err
	}
	if f.Version, err = o.IntField("version"); err != nil {
		return f, err
	}
	if f.Suite, err = o.StringField("suite"); err != nil {
		return f, err
	}
	if f.PrivateKey, err = o.BytesField("private_key"); err != nil {
		return f, err
	}
	if f.OPRFSeed, err = o.BytesField("oprf_seed"); err != nil {
		return f, err
	}
	if f.FakeRecordSeed, err = o.BytesField("fake_record_seed"); err != nil {
		return f, err
	}
	return f, nil
}

// OPAQUESecrets reads the node's OPAQUE secrets for cfg, or generates and
// writes them (mode 0600) on first start. A file that cannot be read as
// secrets of cfg's suite is an error and left untouched.
func (d *Dir) OPAQUESecrets(cfg opaque.Config) (secrets opaque.ServerSecrets, created bool, err error) {
	path := d.Join(OPAQUEFile)
	suite := cfg.Suite
	if suite == 0 {
		suite = opaque.Ristretto255SHA512
	}
	data, err := os.ReadFile(path)
	if err == nil {
		f, err := readOPAQUEFile(data)
		if err != nil {
			return secrets, false, fmt.Errorf("OPAQUE secrets %s: %w", path, err)
		}
		switch {
		case f.Version > opaqueFileVersion:
			return secrets, false, fmt.Errorf("OPAQUE secrets %s: version %d is newer than this qpc understands (%d)", path, f.Version, opaqueFileVersion)
		case f.Version < 1:
			return secrets, false, fmt.Errorf("OPAQUE secrets %s: no version", path)
		case f.Suite != suite.String():
			return secrets, false, fmt.Errorf("OPAQUE secrets %s: suite %q, want %q", path, f.Suite, suite)
		}
		return opaque.ServerSecrets{PrivateKey: f.PrivateKey, OPRFSeed: f.OPRFSeed, FakeRecordSeed: f.FakeRecordSeed}, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return secrets, false, fmt.Errorf("OPAQUE secrets: %w", err)
	}
	secrets, err = opaque.GenerateServerSecrets(cfg)
	if err != nil {
		return secrets, false, err
	}
	out, err := json.MarshalIndent(opaqueFile{
		Version: opaqueFileVersion, Suite: suite.String(),
		PrivateKey: secrets.PrivateKey, OPRFSeed: secrets.OPRFSeed, FakeRecordSeed: secrets.FakeRecordSeed,
	}, "", "  ")
	if err != nil {
		return secrets, false, err
	}
	if err := atomicfile.Write(path, append(out, '\n'), 0o600); err != nil {
		return secrets, false, err
	}
	return secrets, true, nil
}
