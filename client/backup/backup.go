package backup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/crypto/sealedfile"
)

// chatDBSuffix names the chat database, read through bbolt.
const chatDBSuffix = ".chat.db"

// lockWait is how long Snapshot waits for a writer of the chat database
// to let go before it says ErrInUse.
const lockWait = time.Second

// Progress is told how many content bytes of how many are done.
type Progress func(done, total int64)

// Snapshot is the files of an account as they are at one moment, open
// for a backup. Close releases them.
type Snapshot struct {
	m       Manifest
	sources []func(io.Writer) (int64, error)
	closers []func() error
}

// Snap opens the files of m.Address in stateDir and fills m.Files: the
// chat database in a read-only transaction, the others read whole (they
// are small). Errors: ErrNoState without a sealed state, ErrInUse while
// another qpc writes the chat database.
func Snap(stateDir string, m Manifest) (*Snapshot, error) {
	return snap(stateDir, m, nil)
}

// ChatCopy is the chat database read by the qpc that holds it open
// (chatdb.Snapshot): its size, its bytes, and Close when done.
type ChatCopy interface {
	Size() int64
	WriteTo(w io.Writer) (int64, error)
	Close() error
}

// SnapOpen is Snap for the qpc that holds the account's chat database
// open (the REPL's /backup), which gives its copy of it: chat, closed
// with the snapshot. The other files are read as Snap reads them.
func SnapOpen(stateDir string, m Manifest, chat ChatCopy) (*Snapshot, error) {
	if chat == nil {
		return nil, errors.New("backup: no chat database copy")
	}
	s, err := snap(stateDir, m, chat)
	if err != nil {
		chat.Close() // again, if snap had taken it: a second Close only errs
		return nil, err
	}
	return s, nil
}

func snap(stateDir string, m Manifest, chat ChatCopy) (*Snapshot, error) {
	m.Address = strings.ToLower(m.Address)
	if err := checkAddress(m.Address); err != nil {
		return nil, err
	}
	s := &Snapshot{m: m}
	s.m.Files = nil
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	for _, suffix := range Suffixes {
		name := m.Address + suffix
		path := filepath.Join(stateDir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if suffix == Suffixes[0] {
				return nil, fmt.Errorf("%s: %w", path, ErrNoState)
			}
			continue
		} else if err != nil {
			return nil, err
		}
		if suffix == chatDBSuffix && chat != nil {
			s.closers = append(s.closers, chat.Close)
			s.m.Files = append(s.m.Files, File{Name: name, Size: chat.Size()})
			s.sources = append(s.sources, chat.WriteTo)
			continue
		}
		if suffix == chatDBSuffix {
			db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockWait})
			if errors.Is(err, bolt.ErrTimeout) {
				return nil, ErrInUse
			}
			if err != nil {
				return nil, fmt.Errorf("chat database: %w", err)
			}
			s.closers = append(s.closers, db.Close)
			tx, err := db.Begin(false)
			if err != nil {
				return nil, fmt.Errorf("chat database: %w", err)
			}
			s.closers = append(s.closers, tx.Rollback)
			s.m.Files = append(s.m.Files, File{Name: name, Size: tx.Size()})
			s.sources = append(s.sources, tx.WriteTo)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		s.m.Files = append(s.m.Files, File{Name: name, Size: int64(len(data))})
		s.sources = append(s.sources, func(w io.Writer) (int64, error) {
			n, err := w.Write(data)
			return int64(n), err
		})
	}
	if err := checkFiles(s.m.Address, s.m.Files); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// Manifest returns what the snapshot holds.
func (s *Snapshot) Manifest() Manifest { return s.m }

// Close releases the snapshot's files.
func (s *Snapshot) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil && !errors.Is(err, bolt.ErrTxClosed) {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}

// counter tells progress of the bytes that pass through it.
type counter struct {
	w           io.Writer
	done, total int64
	progress    Progress
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.done += int64(n)
	if c.progress != nil {
		c.progress(c.done, c.total)
	}
	return n, err
}

// Write seals the snapshot into w as a backup under o's secret (o.Purpose
// is set to sealedfile.PurposeBackup). progress, when not nil, is told of
// the files' bytes as they go.
func (s *Snapshot) Write(w io.Writer, o sealedfile.Options, progress Progress) error {
	head, err := s.m.marshal()
	if err != nil {
		return err
	}
	o.Purpose = sealedfile.PurposeBackup
	sw, err := sealedfile.Create(w, o)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(sw, sealedfile.DefaultChunkSize)
	if _, err := bw.Write(head); err != nil {
		return err
	}
	c := &counter{w: bw, total: s.m.Size(), progress: progress}
	for i, src := range s.sources {
		n, err := src(c)
		if err != nil {
			return fmt.Errorf("%s: %w", s.m.Files[i].Name, err)
		}
		if n != s.m.Files[i].Size {
			return fmt.Errorf("%s: %d bytes written, %d listed", s.m.Files[i].Name, n, s.m.Files[i].Size)
		}
	}
	if progress != nil {
		progress(c.done, c.total)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return sw.Close()
}

// Reader is a backup opened with its secret, its manifest read.
type Reader struct {
	r *sealedfile.Reader
	m Manifest
}

// Open opens the backup in r: secret is asked for the key of the kind
// the file wants (sealedfile.Open), and the manifest is read. Errors:
// those of sealedfile.Open and decodeManifest.
func Open(r io.Reader, secret func(sealedfile.SecretKind) ([]byte, error)) (*Reader, error) {
	sr, err := sealedfile.Open(r, sealedfile.PurposeBackup, secret)
	if err != nil {
		return nil, err
	}
	m, err := decodeManifest(sr)
	if err != nil {
		return nil, err
	}
	return &Reader{r: sr, m: m}, nil
}

// Manifest returns whose state the backup holds.
func (r *Reader) Manifest() Manifest { return r.m }

// Restored is a restore whose files are in place, not yet committed.
type Restored struct {
	// Manifest is what was restored.
	Manifest Manifest
	placed   []string          // restored files
	kept     map[string]string // the account's earlier files: path → aside
}

// asideName and tempName are where Restore keeps files meanwhile: hidden,
// next to where they belong, so that a rename moves them.
func asideName(dir, name string) string { return filepath.Join(dir, "."+name+".before-restore") }
func tempName(dir, name string) string  { return filepath.Join(dir, "."+name+".restoring") }

// Existing returns the files of address that stateDir holds.
func Existing(stateDir, address string) []string {
	var out []string
	for _, s := range Suffixes {
		p := filepath.Join(stateDir, strings.ToLower(address)+s)
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Restore writes the backup's files into stateDir (created 0700 if
// missing; files 0600). With files of the account already there it
// fails with ErrStateExists unless force is set; then they are kept aside
// until Commit or Undo. It reads the whole content and fails with
// ErrCorrupt, or the sealed file's *sealedfile.ChunkError, before it
// touches a file of the account.
func (r *Reader) Restore(stateDir string, force bool, progress Progress) (*Restored, error) {
	if have := Existing(stateDir, r.m.Address); len(have) > 0 && !force {
		return nil, fmt.Errorf("%w: %s", ErrStateExists, strings.Join(have, ", "))
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	var temps []string
	ok := false
	defer func() {
		if !ok {
			for _, t := range temps {
				os.Remove(t)
			}
		}
	}()
	done, total := int64(0), r.m.Size()
	for _, f := range r.m.Files {
		t := tempName(stateDir, f.Name)
		os.Remove(t) // left by a restore that was killed
		out, err := os.OpenFile(t, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		temps = append(temps, t)
		c := &counter{w: out, done: done, total: total, progress: progress}
		n, err := io.CopyN(c, r.r, f.Size)
		done = c.done
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s ends after %d of %d bytes", ErrCorrupt, f.Name, n, f.Size)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	// The sealed file's last chunk must end the last file: this read
	// also checks that chunk and that nothing follows it.
	var one [1]byte
	if n, err := r.r.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("%w: data after the last file", ErrCorrupt)
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	res := &Restored{Manifest: r.m, kept: map[string]string{}}
	for _, p := range Existing(stateDir, r.m.Address) {
		aside := asideName(stateDir, filepath.Base(p))
		if err := os.Rename(p, aside); err != nil {
			res.Undo()
			return nil, err
		}
		res.kept[p] = aside
	}
	for i, f := range r.m.Files {
		p := filepath.Join(stateDir, f.Name)
		if err := os.Rename(temps[i], p); err != nil {
			res.Undo()
			return nil, err
		}
		res.placed = append(res.placed, p)
	}
	ok = true
	return res, syncDir(stateDir)
}

// Commit drops the files the restore replaced.
func (res *Restored) Commit() error {
	var errs []error
	for _, aside := range res.kept {
		if err := os.Remove(aside); err != nil {
			errs = append(errs, err)
		}
	}
	res.kept = nil
	return errors.Join(errs...)
}

// Undo removes the restored files and puts back those they replaced.
func (res *Restored) Undo() error {
	var errs []error
	for _, p := range res.placed {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	res.placed = nil
	for p, aside := range res.kept {
		if err := os.Rename(aside, p); err != nil {
			errs = append(errs, err)
		}
	}
	res.kept = nil
	return errors.Join(errs...)
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
