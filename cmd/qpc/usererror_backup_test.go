//go:build !router

package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/archive"
	"github.com/quicprochat/qpc/client/backup"
	"github.com/quicprochat/qpc/crypto/sealedfile"
	"github.com/quicprochat/qpc/protocol"
)

func TestEveryBackupAndArchiveErrorReadsAsItsOwnSentence(t *testing.T) {
	seen := map[string]error{}
	for _, cause := range []error{sealedfile.ErrWrongSecret, sealedfile.ErrNotSealedFile, sealedfile.ErrWrongPurpose,
		sealedfile.ErrVersionUnknown, sealedfile.ErrVersionTooOld, sealedfile.ErrBadHeader,
		backup.ErrNotBackup, backup.ErrVersionUnknown, backup.ErrVersionTooOld, backup.ErrCorrupt, backup.ErrStateExists,
		backup.ErrInUse, backup.ErrNoState, backup.ErrPasswordChanged,
		archive.ErrBadSignature, archive.ErrBadDeviceCert, archive.ErrNotArchive, archive.ErrVersionUnknown, archive.ErrMalformed,
		errFileExists, errNoPassphrase, errPassphraseMismatch, errOtherAccountKey} {
		err := fmt.Errorf("inner detail: %w", cause)
		say := sayError(err)
		if strings.Contains(say, "inner detail") || say == cause.Error() {
			t.Errorf("%v reads %q: no sentence of its own", cause, say)
		}
		if other, ok := seen[say]; ok && !errors.Is(cause, other) {
			t.Errorf("%v and %v read the same: %q", cause, other, say)
		}
		seen[say] = cause
	}
}

func TestAFailedChunkOrRecordIsNamedByItsNumber(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&sealedfile.ChunkError{Index: 3, Err: sealedfile.ErrTampered}, "chunk 3 is altered"},
		{&sealedfile.ChunkError{Index: 4, Err: sealedfile.ErrTruncated}, "chunk 4 is missing: the file was cut short"},
		{&sealedfile.ChunkError{Index: 5, Err: sealedfile.ErrTrailingData}, "chunk 5 is the last, and more was added"},
		{fmt.Errorf("verify: %w", &archive.RecordError{Number: 17, Err: archive.ErrRecordMissing}), "NOT VALID: record 17 is missing"},
		{&archive.RecordError{Number: 2, Err: archive.ErrRecordOutOfOrder}, "NOT VALID: record 2 is out of order"},
	} {
		if say := sayError(tc.err); !strings.Contains(say, tc.want) {
			t.Errorf("%v reads %q; want %q in it", tc.err, say, tc.want)
		}
	}
	revoked := &restoreRevokedError{m: backup.Manifest{Address: "alice@x", DeviceName: "desk"}}
	if say := sayError(revoked); !strings.Contains(say, `the device in this backup ("desk"`) || !errors.Is(revoked, protocol.ErrDeviceRevoked) {
		t.Errorf("a restore of a removed device reads %q", say)
	}
}
