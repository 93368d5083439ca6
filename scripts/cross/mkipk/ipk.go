package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// An .ipk as opkg reads it (and as OpenWrt's ipkg-build writes it) is a
// gzip-compressed tar, not an ar archive like a .deb, holding three members
// in this order:
//
//	./debian-binary    "2.0\n"
//	./data.tar.gz      the files to install, paths relative to /
//	./control.tar.gz   control, conffiles, postinst, prerm
//
// Every tar is in GNU format with numeric owner 0/0: opkg's tar reader
// does not understand PAX extended headers and would take them for files.

// file is one regular file of a package's data.
type file struct {
	name string // path under /, e.g. "usr/bin/qpc"
	mode int64
	data []byte
}

// field is one line of a control file.
type field struct{ name, value string }

// ipk is everything one package is made of.
type ipk struct {
	fields    []field // in OpenWrt's order; Installed-Size is added
	conffiles []string
	postinst  string
	prerm     string
	files     []file
	mtime     time.Time
}

// write writes the package to w.
func (p *ipk) write(w io.Writer) error {
	data, err := tarball(p.files, p.mtime)
	if err != nil {
		return fmt.Errorf("data.tar: %w", err)
	}
	fields := append([]field(nil), p.fields...)
	fields = insertInstalledSize(fields, len(data))
	control := []file{
		{name: "control", mode: 0o644, data: []byte(controlText(fields))},
		{name: "postinst", mode: 0o755, data: []byte(p.postinst)},
		{name: "prerm", mode: 0o755, data: []byte(p.prerm)},
	}
	if len(p.conffiles) > 0 {
		conf := append([]string(nil), p.conffiles...)
		sort.Strings(conf)
		control = append(control, file{name: "conffiles", mode: 0o644, data: []byte(strings.Join(conf, "\n") + "\n")})
	}
	ctl, err := tarball(control, p.mtime)
	if err != nil {
		return fmt.Errorf("control.tar: %w", err)
	}
	dataGz, err := gzipped(data)
	if err != nil {
		return err
	}
	ctlGz, err := gzipped(ctl)
	if err != nil {
		return err
	}

	var outer bytes.Buffer
	tw := tar.NewWriter(&outer)
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"./debian-binary", []byte("2.0\n")},
		{"./data.tar.gz", dataGz},
		{"./control.tar.gz", ctlGz},
	} {
		if err := tw.WriteHeader(header(m.name, tar.TypeReg, 0o644, int64(len(m.data)), p.mtime)); err != nil {
			return err
		}
		if _, err := tw.Write(m.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	outerGz, err := gzipped(outer.Bytes())
	if err != nil {
		return err
	}
	_, err = w.Write(outerGz)
	return err
}

// insertInstalledSize puts Installed-Size, the size of the uncompressed
// data.tar as ipkg-build counts it, right before Description.
func insertInstalledSize(fields []field, size int) []field {
	f := field{"Installed-Size", fmt.Sprint(size)}
	for i, x := range fields {
		if x.name == "Description" {
			return append(fields[:i], append([]field{f}, fields[i:]...)...)
		}
	}
	return append(fields, f)
}

// controlText renders fields as a control file. A multi-line value goes on
// continuation lines that start with a space.
func controlText(fields []field) string {
	var b strings.Builder
	for _, f := range fields {
		lines := strings.Split(strings.TrimSpace(f.value), "\n")
		fmt.Fprintf(&b, "%s: %s\n", f.name, strings.TrimSpace(lines[0]))
		for _, l := range lines[1:] {
			l = strings.TrimSpace(l)
			if l == "" {
				l = "."
			}
			fmt.Fprintf(&b, " %s\n", l)
		}
	}
	return b.String()
}

// tarball returns an uncompressed GNU tar of files, with an entry for "./"
// and every directory above a file, ordered like `tar --sort=name`.
func tarball(files []file, mtime time.Time) ([]byte, error) {
	byName := map[string]file{}
	dirs := map[string]bool{".": true}
	for _, f := range files {
		name := path.Clean(f.name)
		if path.IsAbs(name) || strings.HasPrefix(name, "..") {
			return nil, fmt.Errorf("%q is not a relative path", f.name)
		}
		if _, dup := byName[name]; dup {
			return nil, fmt.Errorf("%q twice", name)
		}
		byName[name] = f
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var names []string
	for d := range dirs {
		names = append(names, d)
	}
	for n := range byName {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return lessByComponent(names[i], names[j]) })

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if dirs[n] {
			name := "./"
			if n != "." {
				name = "./" + n + "/"
			}
			if err := tw.WriteHeader(header(name, tar.TypeDir, 0o755, 0, mtime)); err != nil {
				return nil, err
			}
			continue
		}
		f := byName[n]
		if err := tw.WriteHeader(header("./"+n, tar.TypeReg, f.mode, int64(len(f.data)), mtime)); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lessByComponent orders paths as a depth-first walk that visits the
// entries of each directory by name: "a" < "a/b" < "a-c".
func lessByComponent(a, b string) bool {
	if a == "." {
		return b != "."
	}
	if b == "." {
		return false
	}
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

// header is a GNU tar header owned by 0/0 with no user or group name.
func header(name string, typ byte, mode, size int64, mtime time.Time) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     mode,
		Size:     size,
		ModTime:  mtime.UTC().Truncate(time.Second),
		Uid:      0,
		Gid:      0,
		Format:   tar.FormatGNU,
	}
}

// gzipped compresses b as `gzip -9 -n` would: no name, no time.
func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
