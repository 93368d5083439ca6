package files

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/protocol"
)

// Upload encrypts the file at path and uploads it to the node, resuming
// an earlier attempt on the same file (unchanged since) from its state in
// opts.StateDir. home is the domain of the node (the uploader's home),
// which the reference names for recipients. It returns the reference to
// send; the state is removed then.
func Upload(ctx context.Context, n Node, home, path string, opts Options) (Reference, error) {
	if opts.StateDir == "" {
		return Reference{}, errors.New("files: Upload needs a state directory")
	}
	f, err := os.Open(path)
	if err != nil {
		return Reference{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Reference{}, err
	}
	if !fi.Mode().IsRegular() {
		return Reference{}, fmt.Errorf("%s is not a regular file", path)
	}
	size := fi.Size()
	if err := checkShape(uint64(size), ChunkSize); err != nil {
		return Reference{}, fmt.Errorf("%s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Reference{}, err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return Reference{}, err
	}
	mtime := fi.ModTime().UnixNano()
	statePath := filepath.Join(opts.StateDir, stateName(abs, strconv.FormatInt(size, 10), strconv.FormatInt(mtime, 10))+".upload")
	key, err := uploadKey(statePath, abs, size, mtime)
	if err != nil {
		return Reference{}, err
	}

	// Pass 1: seal every chunk to learn its hash; nothing is kept.
	count := chunkCount(uint64(size), ChunkSize)
	hashes := make([][protocol.BlobIDSize]byte, count)
	var sealedSize uint64
	plain := make([]byte, ChunkSize)
	var sealed []byte
	for i := 0; i < count; i++ {
		m, err := io.ReadFull(f, plain)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !(errors.Is(err, io.EOF) && size == 0) {
			return Reference{}, err
		}
		sealed = SealChunk(sealed[:0], key, i, i == count-1, plain[:m])
		hashes[i] = sha256.Sum256(sealed)
		sealedSize += uint64(len(sealed))
	}
	mime := ""
	if size > 0 {
		head := make([]byte, sniffLen)
		m, _ := f.ReadAt(head, 0)
		mime = sniff(head[:m])
	}

	var created client.BlobCreated
	err = opts.call(ctx, "file creation", func(ctx context.Context) (err error) {
		created, err = n.BlobCreate(ctx, sealedSize, hashes, opts.TTL)
		return err
	})
	if err != nil {
		return Reference{}, err
	}
	missing := created.Missing
	already := int64(count-len(missing)) * ChunkSize
	if already > size {
		already = size
	}
	m := newMeter(size, already, opts.Progress)
	// Pass 2: seal the missing chunks again and put them, a few at once.
	err = forEach(ctx, opts.inFlight(), missing, func(ctx context.Context, i int) error {
		buf := make([]byte, ChunkSize)
		k, err := f.ReadAt(buf, int64(i)*ChunkSize)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		s := SealChunk(nil, key, i, i == count-1, buf[:k])
		if sha256.Sum256(s) != hashes[i] {
			return fmt.Errorf("%w: %s, chunk %d", ErrFileChanged, path, i)
		}
		err = opts.call(ctx, fmt.Sprintf("chunk %d", i), func(ctx context.Context) error {
			return n.BlobPut(ctx, created.ID, i, s)
		})
		if errors.Is(err, ErrChunkTimeout) {
			return err
		}
		if err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		m.add(int64(k))
		return nil
	})
	if err != nil {
		return Reference{}, err
	}
	if len(missing) == 0 {
		m.add(0)
	}
	ref := Reference{
		Name: filepath.Base(abs), MIME: mime, Size: uint64(size), ChunkSize: ChunkSize,
		Key: key, ID: created.ID, Home: home, Expires: created.Expires,
	}
	if err := ref.check(); err != nil {
		return Reference{}, err
	}
	os.Remove(statePath)
	return ref, nil
}

// uploadKey returns the key of an earlier attempt on the same file, or a
// fresh one, recorded before any chunk leaves.
func uploadKey(statePath, abs string, size, mtime int64) ([KeySize]byte, error) {
	var st uploadState
	ok, err := readState(statePath, &st)
	if err != nil && !errors.Is(err, ErrBadState) {
		return [KeySize]byte{}, err
	}
	if ok && err == nil && st.Version == stateVersion && st.Path == abs && st.Size == size &&
		st.ModTime == mtime && len(st.Key) == KeySize && st.Chunk == ChunkSize {
		return [KeySize]byte(st.Key), nil
	}
	key, err := NewKey()
	if err != nil {
		return key, err
	}
	st = uploadState{Version: stateVersion, Path: abs, Size: size, ModTime: mtime, Key: key[:], Chunk: ChunkSize}
	return key, writeState(statePath, st)
}
