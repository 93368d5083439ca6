package main

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// A reader of .apk files written from apk-tools' description of the
// format (doc/apk-v3.5, src/adb.h, src/apk_adb.h), independent of the
// writer: it checks what the writer must get right for apk to install a
// package on a router, and returns what the package holds.

// Errors of readAPK.
var (
	errAPKMagic     = errors.New("not an apk v3 file")
	errAPKTruncated = errors.New("truncated")
	errAPKBlock     = errors.New("bad block")
	errAPKValue     = errors.New("bad ADB value")
	errAPKSchema    = errors.New("not what the package schema says")
	errAPKIntegrity = errors.New("data does not match the metadata")
	errAPKSignature = errors.New("bad signature")
)

// apkFile is what readAPK found.
type apkFile struct {
	compressed bool
	info       map[int]any // string, uint64 or []string (dependency names)
	dirs       []readDir
	scripts    map[int]string
	signedBy   [][16]byte // ids of the keys whose signatures verified
	sigBlocks  int
}

type readDir struct {
	name                string
	mode                uint64
	user, group         string
	files               []apkEntry
	hasName, hasFilesAt bool
}

type apkEntry struct {
	name        string
	mode        uint64
	user, group string
	size, mtime uint64
	hash        []byte
	data        []byte
}

// file returns the file at a path ("etc/config/qpc"), or nil.
func (f *apkFile) file(p string) *apkEntry {
	for i := range f.dirs {
		for j := range f.dirs[i].files {
			d := f.dirs[i]
			full := d.files[j].name
			if d.name != "" {
				full = d.name + "/" + full
			}
			if full == p {
				return &f.dirs[i].files[j]
			}
		}
	}
	return nil
}

// adbView reads values of one ADB payload.
type adbView struct{ b []byte }

func (v adbView) at(off, n, align int) ([]byte, error) {
	if off%align != 0 {
		// apk reads with aligned loads; mips would trap on others.
		return nil, fmt.Errorf("%w: offset %d is not %d-aligned", errAPKValue, off, align)
	}
	if off < adbHeaderSize || n < 0 || off+n > len(v.b) || off+n < off {
		return nil, fmt.Errorf("%w: %d bytes at %d of %d", errAPKValue, n, off, len(v.b))
	}
	return v.b[off : off+n], nil
}

func (v adbView) int(x adbVal) (uint64, error) {
	off := int(x & adbValueMask)
	switch x & adbTypeMask {
	case adbTypeInt:
		return uint64(x & adbValueMask), nil
	case adbTypeInt32:
		b, err := v.at(off, 4, 4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.LittleEndian.Uint32(b)), nil
	case adbTypeInt64:
		b, err := v.at(off, 8, 4)
		if err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("%w: %#x is no integer", errAPKValue, uint32(x))
}

// blob returns a blob's bytes; null is empty.
func (v adbView) blob(x adbVal) ([]byte, error) {
	off := int(x & adbValueMask)
	var hdr, align int
	switch x & adbTypeMask {
	case adbTypeSpecial:
		if x == adbNull {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %#x is no blob", errAPKValue, uint32(x))
	case adbTypeBlob8:
		hdr, align = 1, 1
	case adbTypeBlob16:
		hdr, align = 2, 2
	case adbTypeBlob32:
		hdr, align = 4, 4
	default:
		return nil, fmt.Errorf("%w: %#x is no blob", errAPKValue, uint32(x))
	}
	h, err := v.at(off, hdr, align)
	if err != nil {
		return nil, err
	}
	var n int
	switch hdr {
	case 1:
		n = int(h[0])
	case 2:
		n = int(binary.LittleEndian.Uint16(h))
	default:
		n = int(binary.LittleEndian.Uint32(h))
	}
	return v.at(off+hdr, n, 1)
}

// obj returns the slots of an object or array (slot 0 is the count); null
// is an object with no fields.
func (v adbView) obj(x adbVal) ([]adbVal, error) {
	if x == adbNull {
		return []adbVal{1}, nil
	}
	if t := x & adbTypeMask; t != adbTypeObject && t != adbTypeArray {
		return nil, fmt.Errorf("%w: %#x is no object", errAPKValue, uint32(x))
	}
	off := int(x & adbValueMask)
	h, err := v.at(off, 4, 4)
	if err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(h))
	if n < 1 || n > len(v.b)/4 {
		return nil, fmt.Errorf("%w: object of %d slots", errAPKValue, n)
	}
	b, err := v.at(off, 4*n, 4)
	if err != nil {
		return nil, err
	}
	out := make([]adbVal, n)
	for i := range out {
		out[i] = adbVal(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func slot(o []adbVal, i int) adbVal {
	if i < len(o) {
		return o[i]
	}
	return adbNull
}

func (v adbView) str(o []adbVal, i int) (string, error) {
	b, err := v.blob(slot(o, i))
	return string(b), err
}

// readAPK reads an .apk, compressed or not, and checks it: the block
// sequence and padding, every value's bounds and alignment, the package
// object against the package schema, sorted paths and files, the unique
// id, each file's size and SHA-256 against its data block, and every
// signature against keys.
func readAPK(b []byte, keys []crypto.PublicKey) (*apkFile, error) {
	f := &apkFile{info: map[int]any{}, scripts: map[int]string{}}
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: %d bytes", errAPKTruncated, len(b))
	}
	switch string(b[:4]) {
	case "ADBd":
		u, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b[4:])), 64<<20))
		if err != nil {
			return nil, fmt.Errorf("%w: deflate: %v", errAPKTruncated, err)
		}
		b, f.compressed = u, true
	case "ADB.":
	default:
		return nil, fmt.Errorf("%w: magic %q", errAPKMagic, b[:4])
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: no schema", errAPKTruncated)
	}
	if string(b[:4]) != "ADB." {
		return nil, fmt.Errorf("%w: inner magic %q", errAPKMagic, b[:4])
	}
	if s := binary.LittleEndian.Uint32(b[4:]); s != adbSchemaPackage {
		return nil, fmt.Errorf("%w: schema %#x is not pckg", errAPKMagic, s)
	}
	type block struct {
		typ     uint32
		payload []byte
	}
	var blocks []block
	for pos := 8; pos < len(b); {
		if len(b)-pos < 4 {
			return nil, fmt.Errorf("%w: block header at %d", errAPKTruncated, pos)
		}
		w := binary.LittleEndian.Uint32(b[pos:])
		typ, raw := w>>30, int(w&0x3fffffff)
		if typ == 3 {
			return nil, fmt.Errorf("%w: extended block at %d (never needed for a package this size)", errAPKBlock, pos)
		}
		if raw < 4 {
			return nil, fmt.Errorf("%w: block of %d bytes at %d", errAPKBlock, raw, pos)
		}
		padded := (raw + 7) &^ 7
		if len(b)-pos < padded {
			return nil, fmt.Errorf("%w: block of %d bytes at %d", errAPKTruncated, padded, pos)
		}
		for _, z := range b[pos+raw : pos+padded] {
			if z != 0 {
				return nil, fmt.Errorf("%w: nonzero padding at %d", errAPKBlock, pos)
			}
		}
		blocks = append(blocks, block{typ, b[pos+4 : pos+raw]})
		pos += padded
	}
	if len(blocks) == 0 || blocks[0].typ != adbBlockADB {
		return nil, fmt.Errorf("%w: the first block is not the ADB block", errAPKBlock)
	}
	adb := blocks[0].payload
	if len(adb) < adbHeaderSize || adb[0] != 0 {
		return nil, fmt.Errorf("%w: ADB header", errAPKBlock)
	}
	var data [][]byte
	for i, blk := range blocks[1:] {
		switch {
		case blk.typ == adbBlockSig && len(data) == 0:
			f.sigBlocks++
			id, err := verifySig(adb, blk.payload, keys)
			if err != nil {
				return nil, err
			}
			if id != nil {
				f.signedBy = append(f.signedBy, *id)
			}
		case blk.typ == adbBlockData:
			data = append(data, blk.payload)
		default:
			return nil, fmt.Errorf("%w: block %d of type %d out of order", errAPKBlock, i+1, blk.typ)
		}
	}

	v := adbView{adb}
	root, err := v.obj(adbVal(binary.LittleEndian.Uint32(adb[4:])))
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	info, err := v.obj(slot(root, pkgInfo))
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	if len(info) > piMax || len(root) > pkgMax {
		return nil, fmt.Errorf("%w: %d info fields, %d package fields", errAPKSchema, len(info), len(root))
	}
	for _, i := range []int{piName, piVersion, piDescription, piArch, piLicense, piOrigin, piMaintainer, piURL} {
		s, err := v.str(info, i)
		if err != nil {
			return nil, fmt.Errorf("info field %d: %w", i, err)
		}
		if s != "" {
			f.info[i] = s
		}
	}
	if f.info[piName] == nil || f.info[piVersion] == nil {
		return nil, fmt.Errorf("%w: no name or version", errAPKSchema)
	}
	uid, err := v.blob(slot(info, piHashes))
	if err != nil || len(uid) != apkUniqueIDSize {
		return nil, fmt.Errorf("%w: unique id of %d bytes (%v)", errAPKSchema, len(uid), err)
	}
	if f.info[piInstalledSize], err = v.int(slot(info, piInstalledSize)); err != nil {
		return nil, fmt.Errorf("installed-size: %w", err)
	}
	for _, i := range []int{piDepends, piProvides} {
		arr, err := v.obj(slot(info, i))
		if err != nil {
			return nil, fmt.Errorf("info field %d: %w", i, err)
		}
		var names []string
		for _, d := range arr[1:] {
			dep, err := v.obj(d)
			if err != nil {
				return nil, err
			}
			n, err := v.str(dep, depName)
			if err != nil || n == "" {
				return nil, fmt.Errorf("%w: dependency without a name (%v)", errAPKSchema, err)
			}
			names = append(names, n)
		}
		if !sort.StringsAreSorted(names) {
			return nil, fmt.Errorf("%w: dependencies %q not sorted", errAPKSchema, names)
		}
		f.info[i] = names
	}

	paths, err := v.obj(slot(root, pkgPaths))
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	var sum uint64
	next := 0 // the next data block
	for di, dv := range paths[1:] {
		do, err := v.obj(dv)
		if err != nil {
			return nil, fmt.Errorf("path %d: %w", di+1, err)
		}
		var d readDir
		if d.name, err = v.str(do, diName); err != nil {
			return nil, err
		}
		if d.mode, d.user, d.group, err = v.acl(slot(do, diACL)); err != nil {
			return nil, fmt.Errorf("path %q: %w", d.name, err)
		}
		if di > 0 && d.name <= f.dirs[di-1].name {
			return nil, fmt.Errorf("%w: path %q after %q", errAPKSchema, d.name, f.dirs[di-1].name)
		}
		files, err := v.obj(slot(do, diFiles))
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", d.name, err)
		}
		for fi, fv := range files[1:] {
			fo, err := v.obj(fv)
			if err != nil {
				return nil, err
			}
			var rf apkEntry
			if rf.name, err = v.str(fo, fiName); err != nil || rf.name == "" {
				return nil, fmt.Errorf("%w: file %d of %q has no name (%v)", errAPKSchema, fi+1, d.name, err)
			}
			if fi > 0 && rf.name <= d.files[fi-1].name {
				return nil, fmt.Errorf("%w: file %q after %q", errAPKSchema, rf.name, d.files[fi-1].name)
			}
			if rf.mode, rf.user, rf.group, err = v.acl(slot(fo, fiACL)); err != nil {
				return nil, err
			}
			if rf.size, err = v.int(slot(fo, fiSize)); slot(fo, fiSize) != adbNull && err != nil {
				return nil, err
			}
			if rf.mtime, err = v.int(slot(fo, fiMtime)); err != nil {
				return nil, err
			}
			if rf.hash, err = v.blob(slot(fo, fiHashes)); err != nil || len(rf.hash) != sha256.Size {
				return nil, fmt.Errorf("%w: %s: hash of %d bytes (%v)", errAPKSchema, rf.name, len(rf.hash), err)
			}
			if rf.size > 0 {
				if next >= len(data) {
					return nil, fmt.Errorf("%w: no data block for %s/%s", errAPKIntegrity, d.name, rf.name)
				}
				blk := data[next]
				next++
				if len(blk) < 8 || binary.LittleEndian.Uint32(blk) != uint32(di+1) || binary.LittleEndian.Uint32(blk[4:]) != uint32(fi+1) {
					return nil, fmt.Errorf("%w: data block %d is not for path %d file %d", errAPKIntegrity, next, di+1, fi+1)
				}
				rf.data = blk[8:]
			}
			if uint64(len(rf.data)) != rf.size {
				return nil, fmt.Errorf("%w: %s is %d bytes, its data %d", errAPKIntegrity, rf.name, rf.size, len(rf.data))
			}
			if h := sha256.Sum256(rf.data); !bytes.Equal(h[:], rf.hash) {
				return nil, fmt.Errorf("%w: %s: SHA-256 differs", errAPKIntegrity, rf.name)
			}
			sum += rf.size
			d.files = append(d.files, rf)
		}
		f.dirs = append(f.dirs, d)
	}
	if next != len(data) {
		return nil, fmt.Errorf("%w: %d data blocks for %d files with data", errAPKIntegrity, len(data), next)
	}
	if sum == 0 {
		sum = 1
	}
	if f.info[piInstalledSize] != sum {
		return nil, fmt.Errorf("%w: installed-size %v, files %d", errAPKIntegrity, f.info[piInstalledSize], sum)
	}

	scripts, err := v.obj(slot(root, pkgScripts))
	if err != nil {
		return nil, fmt.Errorf("scripts: %w", err)
	}
	for i := 1; i < len(scripts); i++ {
		s, err := v.str(scripts, i)
		if err != nil {
			return nil, fmt.Errorf("script %d: %w", i, err)
		}
		if s != "" {
			f.scripts[i] = s
		}
	}

	// The unique id is the SHA-256 of the payload with itself zero.
	zeroed := append([]byte(nil), adb...)
	at := int(slot(info, piHashes)&adbValueMask) + map[adbVal]int{adbTypeBlob8: 1, adbTypeBlob16: 2, adbTypeBlob32: 4}[slot(info, piHashes)&adbTypeMask]
	copy(zeroed[at:at+apkUniqueIDSize], make([]byte, apkUniqueIDSize))
	if h := sha256.Sum256(zeroed); !bytes.Equal(h[:apkUniqueIDSize], uid) {
		return nil, fmt.Errorf("%w: unique id is not the payload's SHA-256", errAPKIntegrity)
	}
	return f, nil
}

func (v adbView) acl(x adbVal) (mode uint64, user, group string, err error) {
	o, err := v.obj(x)
	if err != nil {
		return 0, "", "", err
	}
	if mode, err = v.int(slot(o, aclMode)); err != nil {
		return 0, "", "", err
	}
	if mode&^0o7777 != 0 {
		return 0, "", "", fmt.Errorf("%w: mode %o", errAPKSchema, mode)
	}
	if user, err = v.str(o, aclUser); err != nil {
		return 0, "", "", err
	}
	group, err = v.str(o, aclGroup)
	return mode, user, group, err
}

// verifySig checks one SIG block against keys: nil id for a key not
// given, an error for a known key whose signature fails.
func verifySig(adb, sig []byte, keys []crypto.PublicKey) (*[16]byte, error) {
	if len(sig) < apkSigHeaderSize || sig[0] != 0 || sig[1] != apkDigestSHA512 {
		return nil, fmt.Errorf("%w: header", errAPKSignature)
	}
	var id [16]byte
	copy(id[:], sig[2:18])
	md := sha512.Sum512(adb)
	h := sha512.New()
	h.Write(binary.LittleEndian.AppendUint32(nil, adbSchemaPackage))
	h.Write(sig[:apkSigHeaderSize])
	h.Write(md[:])
	digest := h.Sum(nil)
	for _, k := range keys {
		kid, err := apkKeyID(k)
		if err != nil || kid != id {
			continue
		}
		ok := false
		switch pk := k.(type) {
		case *ecdsa.PublicKey:
			ok = ecdsa.VerifyASN1(pk, digest, sig[apkSigHeaderSize:])
		case *rsa.PublicKey:
			ok = rsa.VerifyPKCS1v15(pk, crypto.SHA512, digest, sig[apkSigHeaderSize:]) == nil
		}
		if !ok {
			return nil, fmt.Errorf("%w: key %x does not verify", errAPKSignature, id)
		}
		return &id, nil
	}
	return nil, nil
}
