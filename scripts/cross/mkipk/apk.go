package main

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// An .apk of apk-tools 3 (OpenWrt 25.12 and later), written the way the
// OpenWrt SDK's include/package-pack.mk has `apk mkpkg` write it:
//
//	"ADBd"                   deflate (raw, level 9) of what follows
//	"ADB." "pckg"            file magic and schema
//	ADB block                the package object (layout in adb.go)
//	SIG blocks               one per signing key, none when unsigned
//	DATA blocks              one per non-empty file, in the order of the
//	                         package's paths and their files
//
// A block is a little-endian uint32 of type<<30 | (4 + payload length),
// the payload, and zeros to the next multiple of 8. A DATA payload starts
// with two uint32, the 1-based index of the file's directory in paths and
// of the file in the directory's files.
//
// The package object (apk-tools' src/apk_adb.h):
//
//	1 info      name, version, hashes (the unique id: the first 20 bytes of
//	            the SHA-256 of the ADB payload with these bytes zero),
//	            description, arch, license, origin, maintainer, url,
//	            installed-size, depends, provides
//	2 paths     one object per directory, by name, "" (root) first:
//	            name, acl {mode, user, group}, files
//	            file: name, acl, size, mtime, hash (SHA-256)
//	3 scripts   post-install, pre-deinstall, post-upgrade
//
// A SIG payload is {version 0, hash SHA-512 (4), key id: the first 16
// bytes of the SHA-512 of the DER public key}, then the signature over
// SHA-512 of the schema word, those 18 bytes and the SHA-512 of the ADB
// payload: ECDSA (ASN.1) or RSA PKCS #1 v1.5, as apk-tools' OpenSSL and
// mbedTLS back ends verify them.

// ADB schema and field numbers, from apk-tools' src/apk_adb.h.
const (
	adbSchemaPackage = 0x676b6370 // "pckg"

	pkgInfo    = 1
	pkgPaths   = 2
	pkgScripts = 3
	pkgMax     = 6

	piName          = 1
	piVersion       = 2
	piHashes        = 3
	piDescription   = 4
	piArch          = 5
	piLicense       = 6
	piOrigin        = 7
	piMaintainer    = 8
	piURL           = 9
	piInstalledSize = 0x0c
	piDepends       = 0x0f
	piProvides      = 0x10
	piMax           = 0x16

	aclMode  = 1
	aclUser  = 2
	aclGroup = 3
	aclMax   = 5

	fiName   = 1
	fiACL    = 2
	fiSize   = 3
	fiMtime  = 4
	fiHashes = 5
	fiMax    = 7

	diName  = 1
	diACL   = 2
	diFiles = 3
	diMax   = 4

	depName = 1
	depMax  = 4

	scriptPostInstall  = 3
	scriptPreDeinstall = 4
	scriptPostUpgrade  = 7
	scriptMax          = 8
)

// The container around the package object (apk-tools' src/adb.h).
const (
	adbBlockADB  = 0
	adbBlockSig  = 1
	adbBlockData = 2
	// adbBlockMaxPayload is the most a block's 30-bit size holds; bigger
	// needs the extended header, which no router package comes near.
	adbBlockMaxPayload = 0x3fffffff - 4
	// apkUniqueIDSize is the length of info's hashes (SHA-1 sized).
	apkUniqueIDSize = 20
	// apkSigHeaderSize is {version, hash algorithm, key id[16]}.
	apkSigHeaderSize    = 18
	apkDigestSHA512     = 4 // apk's APK_DIGEST_SHA512
	apkFileMagicDeflate = "ADBd"
)

// Errors of apk writing.
var (
	// ErrBadPackageField is returned for a name, version, dependency or
	// path that apk would refuse.
	ErrBadPackageField = errors.New("not valid in an apk package")
	// ErrSigningKey is returned for a signing key apk cannot verify.
	ErrSigningKey = errors.New("unusable apk signing key")
)

// apkInfo is the info object of a package, as package-pack.mk passes it
// to `apk mkpkg --info`.
type apkInfo struct {
	name, version, description, arch, license, origin, maintainer, url string
	depends, provides                                                  []string
}

// apkPackage is everything one .apk is made of.
type apkPackage struct {
	info    apkInfo
	files   []file           // regular files, owned by root
	scripts map[int]string   // by script field number
	mtime   time.Time        // of every file
	signers []crypto.Signer  // ECDSA or RSA keys; none: unsigned
	rand    io.Reader        // for signatures; nil: crypto/rand
	dirMode map[string]int64 // directories other than 0755; none today
}

var (
	apkNameRE    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.+_-]*$`)
	apkVersionRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?(-r[0-9]+)?$`)
)

// write writes the package to w, deflated as `apk mkpkg` does by default.
func (p *apkPackage) write(w io.Writer) error {
	var raw bytes.Buffer
	if err := p.writeUncompressed(&raw); err != nil {
		return err
	}
	if _, err := io.WriteString(w, apkFileMagicDeflate); err != nil {
		return err
	}
	zw, err := flate.NewWriter(w, flate.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return err
	}
	return zw.Close()
}

// writeUncompressed writes the package as `apk mkpkg --compression none`
// would: the ADB file itself.
func (p *apkPackage) writeUncompressed(w io.Writer) error {
	adb, order, err := p.metadata()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	out.WriteString("ADB.")
	out.Write(binary.LittleEndian.AppendUint32(nil, adbSchemaPackage))
	if err := writeBlock(&out, adbBlockADB, adb); err != nil {
		return err
	}
	for _, s := range p.signers {
		sig, err := signADB(s, adb, p.rand)
		if err != nil {
			return err
		}
		if err := writeBlock(&out, adbBlockSig, sig); err != nil {
			return err
		}
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		return err
	}
	for _, d := range order {
		hdr := binary.LittleEndian.AppendUint32(nil, uint32(d.dir))
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(d.file))
		var blk bytes.Buffer
		if err := writeBlock(&blk, adbBlockData, append(hdr, d.data...)); err != nil {
			return err
		}
		if _, err := w.Write(blk.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// writeBlock appends one block of typ holding payload.
func writeBlock(w *bytes.Buffer, typ uint32, payload []byte) error {
	if len(payload) > adbBlockMaxPayload {
		return fmt.Errorf("apk block of %d bytes: %w", len(payload), ErrADBTooLarge)
	}
	raw := 4 + len(payload)
	w.Write(binary.LittleEndian.AppendUint32(nil, typ<<30|uint32(raw)))
	w.Write(payload)
	w.Write(make([]byte, (8-raw%8)%8))
	return nil
}

// dataBlock is the content of one file and where the package lists it.
type dataBlock struct {
	dir, file int // 1-based indexes into paths and the directory's files
	data      []byte
}

// apkDir is a directory of the package and the files directly in it.
type apkDir struct {
	name  string // "" for the root
	files []file // by name
}

// apkDirs groups files into their directories, every ancestor included:
// the root first, then by name as strcmp orders them, which is the order
// both of `apk mkpkg`'s walk and of the sorted paths array.
func apkDirs(files []file) ([]apkDir, error) {
	byDir := map[string][]file{"": nil}
	seen := map[string]bool{}
	for _, f := range files {
		name := path.Clean(f.name)
		if f.name == "" || path.IsAbs(name) || name == "." || strings.HasPrefix(name, "..") || name != f.name {
			return nil, fmt.Errorf("path %q: %w (want a clean relative path)", f.name, ErrBadPackageField)
		}
		if seen[name] {
			return nil, fmt.Errorf("path %q twice: %w", name, ErrBadPackageField)
		}
		seen[name] = true
		if f.mode&^0o7777 != 0 {
			return nil, fmt.Errorf("%s: mode %o: %w", name, f.mode, ErrBadPackageField)
		}
		dir := path.Dir(name)
		if dir == "." {
			dir = ""
		}
		byDir[dir] = append(byDir[dir], f)
		for d := dir; d != ""; d = path.Dir(d) {
			if d == "." {
				break
			}
			if _, ok := byDir[d]; !ok {
				byDir[d] = nil
			}
		}
	}
	for d := range byDir {
		if seen[d] {
			return nil, fmt.Errorf("%q is a file and a directory: %w", d, ErrBadPackageField)
		}
	}
	var out []apkDir
	for d, fs := range byDir {
		sort.Slice(fs, func(i, j int) bool { return path.Base(fs[i].name) < path.Base(fs[j].name) })
		out = append(out, apkDir{name: d, files: fs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// metadata builds the ADB payload and lists the data blocks in the order
// they follow it.
func (p *apkPackage) metadata() ([]byte, []dataBlock, error) {
	in := p.info
	if !apkNameRE.MatchString(in.name) {
		return nil, nil, fmt.Errorf("package name %q: %w", in.name, ErrBadPackageField)
	}
	if !apkVersionRE.MatchString(in.version) {
		return nil, nil, fmt.Errorf("version %q: %w", in.version, ErrBadPackageField)
	}
	for _, d := range append(append([]string(nil), in.depends...), in.provides...) {
		if !apkNameRE.MatchString(d) {
			return nil, nil, fmt.Errorf("dependency %q: %w (only plain names are written)", d, ErrBadPackageField)
		}
	}
	dirs, err := apkDirs(p.files)
	if err != nil {
		return nil, nil, err
	}

	a := newADB()
	info := make([]adbVal, piMax)
	// apk mkpkg stores the info fields in the order of their numbers.
	info[piName] = a.str(in.name)
	info[piVersion] = a.str(in.version)
	info[piDescription] = a.str(in.description)
	info[piArch] = a.str(in.arch)
	info[piLicense] = a.str(in.license)
	info[piOrigin] = a.str(in.origin)
	info[piMaintainer] = a.str(in.maintainer)
	info[piURL] = a.str(in.url)
	info[piDepends] = p.deps(a, in.depends)
	info[piProvides] = p.deps(a, in.provides)

	mtime := uint64(0)
	if s := p.mtime.Unix(); s > 0 {
		mtime = uint64(s)
	}
	var installed uint64
	var order []dataBlock
	var paths []adbVal
	for di, d := range dirs {
		var files []adbVal
		for fi, f := range d.files {
			sum := sha256.Sum256(f.data)
			fo := make([]adbVal, fiMax)
			fo[fiName] = a.str(path.Base(f.name))
			fo[fiHashes] = a.blob(sum[:])
			fo[fiMtime] = a.int(mtime)
			fo[fiSize] = a.int(uint64(len(f.data)))
			fo[fiACL] = p.acl(a, f.mode)
			files = append(files, a.obj(fo))
			installed += uint64(len(f.data))
			if len(f.data) > 0 {
				order = append(order, dataBlock{dir: di + 1, file: fi + 1, data: f.data})
			}
		}
		do := make([]adbVal, diMax)
		do[diName] = a.str(d.name)
		// Every directory is 0755, as the SDK's INSTALL_DIR makes it.
		do[diACL] = p.acl(a, 0o755)
		do[diFiles] = a.arr(files)
		paths = append(paths, a.obj(do))
	}
	if installed == 0 {
		installed = 1
	}
	info[piInstalledSize] = a.int(installed)
	var uidAt int
	info[piHashes], uidAt = a.blobUnshared(make([]byte, apkUniqueIDSize))

	pkg := make([]adbVal, pkgMax)
	pkg[pkgInfo] = a.obj(info)
	pkg[pkgPaths] = a.arr(paths)
	if len(p.scripts) > 0 {
		sc := make([]adbVal, scriptMax)
		for i := 1; i < scriptMax; i++ {
			sc[i] = a.str(p.scripts[i])
		}
		pkg[pkgScripts] = a.obj(sc)
	}
	adb, err := a.finish(a.obj(pkg))
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(adb)
	copy(adb[uidAt:uidAt+apkUniqueIDSize], sum[:])
	return adb, order, nil
}

// acl stores {mode, root, root}: every file of the package belongs to
// root, as under the SDK's fakeroot.
func (p *apkPackage) acl(a *adbBuilder, mode int64) adbVal {
	o := make([]adbVal, aclMax)
	o[aclMode] = a.int(uint64(mode))
	o[aclUser] = a.str("root")
	o[aclGroup] = a.str("root")
	return a.obj(o)
}

// deps stores a dependency array of plain names, sorted as apk sorts it.
func (p *apkPackage) deps(a *adbBuilder, names []string) adbVal {
	names = append([]string(nil), names...)
	sort.Strings(names)
	var items []adbVal
	for i, n := range names {
		if i > 0 && n == names[i-1] {
			continue
		}
		o := make([]adbVal, depMax)
		o[depName] = a.str(n)
		items = append(items, a.obj(o))
	}
	return a.arr(items)
}

// signADB returns the payload of a SIG block for adb signed with s.
func signADB(s crypto.Signer, adb []byte, r io.Reader) ([]byte, error) {
	id, err := apkKeyID(s.Public())
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = rand.Reader
	}
	hdr := append([]byte{0, apkDigestSHA512}, id[:]...)
	md := sha512.Sum512(adb)
	h := sha512.New()
	h.Write(binary.LittleEndian.AppendUint32(nil, adbSchemaPackage))
	h.Write(hdr)
	h.Write(md[:])
	digest := h.Sum(nil)
	var sig []byte
	switch k := s.(type) {
	case *ecdsa.PrivateKey:
		sig, err = ecdsa.SignASN1(r, k, digest)
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(r, k, crypto.SHA512, digest)
	default:
		return nil, fmt.Errorf("%T: %w (want ECDSA or RSA)", s, ErrSigningKey)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return append(hdr, sig...), nil
}

// apkKeyID is how apk finds the key of a signature: the first 16 bytes of
// the SHA-512 of the public key as OpenSSL's i2d_PublicKey encodes it (the
// uncompressed point of an EC key, PKCS #1 of an RSA key).
func apkKeyID(pub crypto.PublicKey) ([16]byte, error) {
	var der []byte
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return [16]byte{}, fmt.Errorf("%w: %v", ErrSigningKey, err)
		}
		der = b
	case *rsa.PublicKey:
		der = x509.MarshalPKCS1PublicKey(k)
	default:
		return [16]byte{}, fmt.Errorf("%T: %w (want ECDSA or RSA)", pub, ErrSigningKey)
	}
	sum := sha512.Sum512(der)
	var id [16]byte
	copy(id[:], sum[:16])
	return id, nil
}

// readSigningKey reads a PEM private key as OpenWrt's build makes it for
// apk (`openssl ecparam -name prime256v1 -genkey`), or an RSA key.
func readSigningKey(name string) (crypto.Signer, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	// `openssl ecparam -genkey` writes the curve's parameters first.
	blk, rest := pem.Decode(b)
	for blk != nil && blk.Type == "EC PARAMETERS" {
		blk, rest = pem.Decode(rest)
	}
	if blk == nil {
		return nil, fmt.Errorf("%s: %w: no PEM private key", name, ErrSigningKey)
	}
	var key any
	switch blk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("%s: %w: PEM block %q", name, ErrSigningKey, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrSigningKey, err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%s: %w: RSA key of %d bits", name, ErrSigningKey, k.N.BitLen())
		}
		return k, nil
	default:
		return nil, fmt.Errorf("%s: %w: %T (apk verifies ECDSA and RSA)", name, ErrSigningKey, key)
	}
}
