package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/quicprochat/qpc/protocol"
)

// PartSuffix ends the name of a download in progress.
const PartSuffix = ".qpcpart"

// syncEvery is how many chunks a download writes between syncs of its
// part file and state: a crash redoes at most that many.
const syncEvery = 8

// Download fetches the file of ref through the node (which proxies to
// ref.Home), checks and decrypts every chunk, and writes the file to
// dest, which must not exist. It writes into dest+PartSuffix first and
// keeps which chunks are done in dest+PartSuffix+".state", so that a call
// after a failure fetches only the rest; dest appears, complete, only at
// the end. A chunk the node altered fails with ErrTampered, one under
// another key with ErrWrongKey, a file cut short with ErrTruncated, an
// upload not finished with ErrIncomplete.
func Download(ctx context.Context, n Node, ref Reference, dest string, opts Options) error {
	if err := ref.check(); err != nil {
		return err
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s: %w", dest, os.ErrExist)
	}
	var st protocol.BlobStat
	err := opts.call(ctx, "file description", func(ctx context.Context) (err error) {
		st, err = n.BlobStat(ctx, ref.Home, ref.ID)
		return err
	})
	if errors.Is(err, protocol.ErrMalformedAnswer) {
		return fmt.Errorf("%w: %v", ErrTampered, err)
	}
	if err != nil {
		return err
	}
	count := ref.Chunks()
	if st.ID != ref.ID || protocol.BlobID(st.Chunks) != ref.ID {
		return fmt.Errorf("%w: the node described another file", ErrTampered)
	}
	if len(st.Chunks) != count {
		return fmt.Errorf("%w: the file has %d chunks, its reference says %d", ErrTruncated, len(st.Chunks), count)
	}
	if !st.Complete() {
		return fmt.Errorf("%w: %d of %d chunks on %s", ErrIncomplete, st.Held, count, ref.Home)
	}

	part := dest + PartSuffix
	statePath := part + ".state"
	done := make([]byte, (count+7)/8)
	var ds downloadState
	if ok, err := readState(statePath, &ds); err == nil && ok && ds.Version == stateVersion &&
		bytes.Equal(ds.ID, ref.ID[:]) && len(ds.Done) == len(done) {
		copy(done, ds.Done)
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	var todo []int
	var already int64
	for i := 0; i < count; i++ {
		if done[i/8]&(1<<(i%8)) == 0 {
			todo = append(todo, i)
		} else {
			already += chunkLen(ref, i)
		}
	}
	m := newMeter(int64(ref.Size), already, opts.Progress)

	var mu sync.Mutex
	var pending []int
	// flush syncs the part file and records the chunks written before.
	flush := func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(pending) == 0 {
			return nil
		}
		if err := f.Sync(); err != nil {
			return err
		}
		for _, i := range pending {
			done[i/8] |= 1 << (i % 8)
		}
		pending = pending[:0]
		return writeState(statePath, downloadState{Version: stateVersion, ID: ref.ID[:], Done: done})
	}
	err = forEach(ctx, opts.inFlight(), todo, func(ctx context.Context, i int) error {
		var sealed []byte
		err := opts.call(ctx, fmt.Sprintf("chunk %d", i), func(ctx context.Context) (err error) {
			sealed, err = n.BlobGet(ctx, ref.Home, ref.ID, i)
			return err
		})
		if errors.Is(err, ErrChunkTimeout) {
			return err
		}
		if err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		if sha256.Sum256(sealed) != st.Chunks[i] {
			return fmt.Errorf("%w: chunk %d", ErrTampered, i)
		}
		plain, err := OpenChunk(nil, ref.Key, i, count, sealed)
		if err != nil {
			return err
		}
		if int64(len(plain)) != chunkLen(ref, i) {
			return fmt.Errorf("%w: chunk %d has %d bytes, not %d", ErrTruncated, i, len(plain), chunkLen(ref, i))
		}
		if _, err := f.WriteAt(plain, int64(i)*int64(ref.ChunkSize)); err != nil {
			return err
		}
		m.add(int64(len(plain)))
		mu.Lock()
		pending = append(pending, i)
		full := len(pending) >= syncEvery
		mu.Unlock()
		if full {
			return flush()
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(ref.Size)); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Link, not rename, so that a dest made meanwhile is not replaced;
	// where the filesystem has no links (FAT on a USB stick), rename
	// after a last look.
	if err := os.Link(part, dest); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w", dest, err)
		}
		if _, serr := os.Lstat(dest); serr == nil {
			return fmt.Errorf("%s: %w", dest, os.ErrExist)
		}
		if err := os.Rename(part, dest); err != nil {
			return err
		}
	}
	os.Remove(part)
	os.Remove(statePath)
	return nil
}

// chunkLen is the plaintext length of chunk i of ref.
func chunkLen(ref Reference, i int) int64 {
	if i < ref.Chunks()-1 {
		return int64(ref.ChunkSize)
	}
	return int64(ref.Size) - int64(i)*int64(ref.ChunkSize)
}
