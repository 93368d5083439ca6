package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quicprochat/qpc/internal/atomicfile"
	"github.com/quicprochat/qpc/protocol"
)

// DirName is the directory under the node's store dir that holds blobs.
const DirName = "blobs"

const metaFile = "meta"

// Limits bound the store. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	// MaxFile is the largest blob, in bytes.
	MaxFile int64
	// PerUser is what one user's blobs may take together.
	PerUser int64
	// Total is what all blobs may take together.
	Total int64
	// DefaultTTL is how long a blob is kept when its uploader names no TTL.
	DefaultTTL time.Duration
	// MaxTTL is the longest TTL an uploader may ask for.
	MaxTTL time.Duration
	// InFlight bounds the puts and gets that hold a chunk in memory at
	// once, node-wide.
	InFlight int
}

// DefaultLimits are a router's: 8 MiB per file, 64 MiB per node, a user
// may fill half the node, kept a week by default and at most 30 days.
func DefaultLimits() Limits {
	return Limits{
		MaxFile:    8 << 20,
		PerUser:    32 << 20,
		Total:      64 << 20,
		DefaultTTL: 7 * 24 * time.Hour,
		MaxTTL:     30 * 24 * time.Hour,
		InFlight:   8,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFile <= 0 {
		l.MaxFile = d.MaxFile
	}
	if l.PerUser <= 0 {
		l.PerUser = d.PerUser
	}
	if l.Total <= 0 {
		l.Total = d.Total
	}
	if l.DefaultTTL <= 0 {
		l.DefaultTTL = d.DefaultTTL
	}
	if l.MaxTTL <= 0 {
		l.MaxTTL = d.MaxTTL
	}
	if l.DefaultTTL > l.MaxTTL {
		l.DefaultTTL = l.MaxTTL
	}
	if l.InFlight <= 0 {
		l.InFlight = d.InFlight
	}
	return l
}

// Stats is what the store holds and has done, for metrics and status.
type Stats struct {
	// Blobs is the number of blobs held.
	Blobs int
	// Reserved is the declared size of the blobs held: what counts
	// against the quota.
	Reserved int64
	// Stored is the bytes of chunks on disk.
	Stored int64
	// Limit is the node's bound (Limits.Total).
	Limit int64
	// RefusedFile, RefusedUser and RefusedNode count the blobs refused
	// by the per-file, per-user and per-node bound.
	RefusedFile, RefusedUser, RefusedNode uint64
	// BytesIn and BytesOut count chunk bytes received by puts and sent by
	// gets (local or proxied for a peer).
	BytesIn, BytesOut uint64
}

// entry is a held blob.
type entry struct {
	Meta
	held   []bool
	nheld  int
	stored int64
}

// Store keeps blobs as files under one directory.
type Store struct {
	dir string
	lim Limits
	now func() time.Time

	mu       sync.Mutex
	blobs    map[[protocol.BlobIDSize]byte]*entry
	reserved int64
	byUser   map[string]int64
	stored   int64

	refusedFile, refusedUser, refusedNode atomic.Uint64
	bytesIn, bytesOut                     atomic.Uint64
}

// Open opens (creating) the blob store in dir, reading what it holds.
// It removes what a crash left half written: temporary chunk files, blob
// directories without a valid meta record. now is the clock; nil means
// time.Now.
func Open(dir string, lim Limits, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	s := &Store{dir: dir, lim: lim.withDefaults(), now: now,
		blobs: make(map[[protocol.BlobIDSize]byte]*entry), byUser: make(map[string]int64)}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	for _, de := range des {
		if err := s.load(de); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// load reads one blob directory, removing it when it is not a valid blob.
func (s *Store) load(de fs.DirEntry) error {
	p := filepath.Join(s.dir, de.Name())
	raw, err := hex.DecodeString(de.Name())
	if !de.IsDir() || err != nil || len(raw) != protocol.BlobIDSize {
		return os.RemoveAll(p)
	}
	b, err := os.ReadFile(filepath.Join(p, metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(p)
	}
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	m, err := ParseMeta(b)
	if err != nil {
		// A record this build cannot read is left alone (a newer qpc's),
		// a damaged one dropped: it is unusable, and counted nowhere.
		if errors.Is(err, ErrMetaVersion) {
			return nil
		}
		return os.RemoveAll(p)
	}
	id := [protocol.BlobIDSize]byte(raw)
	if protocol.BlobID(m.Hashes) != id {
		return os.RemoveAll(p)
	}
	e := &entry{Meta: m, held: make([]bool, len(m.Hashes))}
	files, err := os.ReadDir(p)
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	for _, f := range files {
		name := f.Name()
		if name == metaFile {
			continue
		}
		i, err := strconv.Atoi(name)
		info, ierr := f.Info()
		if err != nil || i < 0 || i >= len(e.held) || ierr != nil || strings.HasPrefix(name, ".") {
			os.Remove(filepath.Join(p, name))
			continue
		}
		e.held[i] = true
		e.nheld++
		e.stored += info.Size()
	}
	s.blobs[id] = e
	s.reserved += int64(m.Size)
	s.byUser[m.Owner] += int64(m.Size)
	s.stored += e.stored
	return nil
}

func (s *Store) blobDir(id [protocol.BlobIDSize]byte) string {
	return filepath.Join(s.dir, hex.EncodeToString(id[:]))
}

// Created is what Create answers.
type Created struct {
	// ID is the blob's id.
	ID [protocol.BlobIDSize]byte
	// Missing are the indexes of the chunks not held yet.
	Missing []int
	// Expires is when the blob is dropped.
	Expires time.Time
}

// Create declares a blob for owner, or answers what an existing one still
// misses (see blobCreate in schemas/node.capnp). ttl 0 means the default.
func (s *Store) Create(owner string, size uint64, hashes [][protocol.BlobIDSize]byte, ttl time.Duration) (Created, error) {
	if err := protocol.CheckBlobShape(size, len(hashes)); err != nil {
		return Created{}, err
	}
	if ttl < 0 || ttl > s.lim.MaxTTL {
		return Created{}, fmt.Errorf("%w: %v (at most %v)", protocol.ErrTTLTooLong, ttl, s.lim.MaxTTL)
	}
	if ttl == 0 {
		ttl = s.lim.DefaultTTL
	}
	id := protocol.BlobID(hashes)
	now := s.now()
	s.sweep(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.blobs[id]; e != nil {
		return Created{ID: id, Missing: e.missing(), Expires: e.Expires}, nil
	}
	switch {
	case size > uint64(s.lim.MaxFile):
		s.refusedFile.Add(1)
		return Created{}, fmt.Errorf("%w: %d bytes, at most %d", protocol.ErrBlobTooLarge, size, s.lim.MaxFile)
	case s.byUser[owner]+int64(size) > s.lim.PerUser:
		s.refusedUser.Add(1)
		return Created{}, fmt.Errorf("%w: %d of %d bytes used, %d more asked", protocol.ErrBlobQuota, s.byUser[owner], s.lim.PerUser, size)
	case s.reserved+int64(size) > s.lim.Total:
		s.refusedNode.Add(1)
		return Created{}, fmt.Errorf("%w: %d of %d bytes used, %d more asked", protocol.ErrBlobStoreFull, s.reserved, s.lim.Total, size)
	}
	m := Meta{Owner: owner, Size: size, Expires: now.Add(ttl).Truncate(time.Millisecond), Hashes: hashes}
	rec, err := MarshalMeta(m)
	if err != nil {
		return Created{}, fmt.Errorf("%w: %v", protocol.ErrBadRequest, err)
	}
	dir := s.blobDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Created{}, err
	}
	if err := atomicfile.Write(filepath.Join(dir, metaFile), rec, 0o600); err != nil {
		os.RemoveAll(dir)
		return Created{}, err
	}
	if err := syncDir(dir); err != nil {
		return Created{}, err
	}
	e := &entry{Meta: m, held: make([]bool, len(hashes))}
	s.blobs[id] = e
	s.reserved += int64(size)
	s.byUser[owner] += int64(size)
	return Created{ID: id, Missing: e.missing(), Expires: m.Expires}, nil
}

func (e *entry) missing() []int {
	out := make([]int, 0, len(e.held)-e.nheld)
	for i, h := range e.held {
		if !h {
			out = append(out, i)
		}
	}
	return out
}

// Put stores chunk index of blob id for owner, once its hash checks out.
// It returns when the chunk is on disk.
func (s *Store) Put(owner string, id [protocol.BlobIDSize]byte, index int, data []byte) error {
	if len(data) > protocol.MaxBlobChunk {
		return fmt.Errorf("%w: chunk of %d bytes, at most %d", protocol.ErrPayloadTooLarge, len(data), protocol.MaxBlobChunk)
	}
	s.mu.Lock()
	e := s.live(id)
	if e == nil {
		s.mu.Unlock()
		return protocol.ErrNoSuchBlob
	}
	if e.Owner != owner {
		s.mu.Unlock()
		return fmt.Errorf("%w: only the file's uploader may upload its chunks", protocol.ErrBadRequest)
	}
	if index < 0 || index >= len(e.held) {
		s.mu.Unlock()
		return fmt.Errorf("%w: chunk %d of a file of %d", protocol.ErrBadRequest, index, len(e.held))
	}
	want := e.Hashes[index]
	held := e.held[index]
	room := int64(e.Size) - e.stored
	s.mu.Unlock()
	if sha256.Sum256(data) != want {
		return fmt.Errorf("%w: chunk %d", protocol.ErrBadChunk, index)
	}
	if held {
		return nil
	}
	if int64(len(data)) > room {
		return fmt.Errorf("%w: chunk %d takes the file past its declared size", protocol.ErrBadRequest, index)
	}
	dir := s.blobDir(id)
	if err := atomicfile.Write(filepath.Join(dir, strconv.Itoa(index)), data, 0o600); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return protocol.ErrNoSuchBlob // expired meanwhile
		}
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	s.bytesIn.Add(uint64(len(data)))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blobs[id] != e || e.held[index] {
		return nil
	}
	e.held[index] = true
	e.nheld++
	e.stored += int64(len(data))
	s.stored += int64(len(data))
	return nil
}

// live returns the blob id if it is held and not expired; s.mu is held.
func (s *Store) live(id [protocol.BlobIDSize]byte) *entry {
	e := s.blobs[id]
	if e == nil || !s.now().Before(e.Expires) {
		return nil
	}
	return e
}

// Get returns chunk index of blob id.
func (s *Store) Get(id [protocol.BlobIDSize]byte, index int) ([]byte, error) {
	s.mu.Lock()
	e := s.live(id)
	ok := e != nil && index >= 0 && index < len(e.held) && e.held[index]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: chunk %d", protocol.ErrNoSuchBlob, index)
	}
	b, err := os.ReadFile(filepath.Join(s.blobDir(id), strconv.Itoa(index)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: chunk %d", protocol.ErrNoSuchBlob, index)
	}
	if err != nil {
		return nil, err
	}
	s.bytesOut.Add(uint64(len(b)))
	return b, nil
}

// ReadChunk reads chunk index of blob id into the buffer that alloc
// returns for its length, so that the caller can hand the node's answer
// message itself.
func (s *Store) ReadChunk(id [protocol.BlobIDSize]byte, index int, alloc func(n int) ([]byte, error)) error {
	s.mu.Lock()
	e := s.live(id)
	ok := e != nil && index >= 0 && index < len(e.held) && e.held[index]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: chunk %d", protocol.ErrNoSuchBlob, index)
	}
	f, err := os.Open(filepath.Join(s.blobDir(id), strconv.Itoa(index)))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: chunk %d", protocol.ErrNoSuchBlob, index)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > protocol.MaxBlobChunk {
		return fmt.Errorf("blob store: chunk file %s of %d bytes", f.Name(), fi.Size())
	}
	buf, err := alloc(int(fi.Size()))
	if err != nil {
		return err
	}
	if _, err := io.ReadFull(f, buf); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	s.bytesOut.Add(uint64(len(buf)))
	return nil
}

// Stat describes blob id.
func (s *Store) Stat(id [protocol.BlobIDSize]byte) (protocol.BlobStat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.live(id)
	if e == nil {
		return protocol.BlobStat{}, protocol.ErrNoSuchBlob
	}
	return protocol.BlobStat{ID: id, Size: e.Size, Chunks: e.Hashes, Held: e.nheld,
		ExpiresMillis: e.Expires.UnixMilli()}, nil
}

// Stats reports what the store holds and has done.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Blobs: len(s.blobs), Reserved: s.reserved, Stored: s.stored, Limit: s.lim.Total,
		RefusedFile: s.refusedFile.Load(), RefusedUser: s.refusedUser.Load(), RefusedNode: s.refusedNode.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load()}
}

// sweep drops the blobs whose TTL ran out by now, and only those.
func (s *Store) sweep(now time.Time) {
	s.mu.Lock()
	var gone [][protocol.BlobIDSize]byte
	for id, e := range s.blobs {
		if !now.Before(e.Expires) {
			gone = append(gone, id)
			delete(s.blobs, id)
			s.reserved -= int64(e.Size)
			s.stored -= e.stored
			if s.byUser[e.Owner] -= int64(e.Size); s.byUser[e.Owner] <= 0 {
				delete(s.byUser, e.Owner)
			}
		}
	}
	s.mu.Unlock()
	for _, id := range gone {
		os.RemoveAll(s.blobDir(id))
	}
}

// SweepEvery is how often Run drops expired blobs.
const SweepEvery = time.Minute

// Run drops expired blobs every SweepEvery until ctx ends; it returns nil
// then.
func (s *Store) Run(ctx context.Context) error {
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.sweep(s.now())
		}
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
