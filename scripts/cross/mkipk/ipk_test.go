package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The architectures the issue asks for; openwrt-archs.txt must list at
// least these. Every architecture it lists is checked.
var wantArchs = []string{
	"x86_64", "aarch64_generic", "aarch64_cortex-a53",
	"arm_cortex-a7_neon-vfpv4", "arm_cortex-a9", "arm_cortex-a15_neon-vfpv4",
	"mips_24kc", "mipsel_24kc",
}

// platform is what an OpenWrt architecture string says about the binary,
// worked out here from the string alone so that openwrt-archs.txt and
// targets.txt are checked rather than trusted.
type platform struct {
	machine   elf.Machine
	class     elf.Class
	data      elf.Data
	goarch    string
	goarm     string // GOARM the build must have used, "" when not arm
	gomips    string
	qemu      string // qemu-user binary, "" to run natively (this is amd64)
	qemuCPU   string // the CPU qemu emulates, "" for its default
	versionOS string
}

func platformOf(t *testing.T, arch string) platform {
	t.Helper()
	family, rest, _ := strings.Cut(arch, "_")
	cpu, fpu, _ := strings.Cut(rest, "_")
	p := platform{versionOS: "linux"}
	switch family {
	case "x86":
		if arch != "x86_64" {
			t.Fatalf("unknown architecture %s", arch)
		}
		p = platform{machine: elf.EM_X86_64, class: elf.ELFCLASS64, data: elf.ELFDATA2LSB, goarch: "amd64"}
	case "aarch64":
		p = platform{machine: elf.EM_AARCH64, class: elf.ELFCLASS64, data: elf.ELFDATA2LSB, goarch: "arm64", qemu: "qemu-aarch64-static"}
	case "arm":
		p = platform{machine: elf.EM_ARM, class: elf.ELFCLASS32, data: elf.ELFDATA2LSB, goarch: "arm", qemu: "qemu-arm-static"}
		// OpenWrt's golang-values.mk: no FPU in the name is GOARM=5,
		// vfp/vfpv2 is 6, any other FPU 7.
		switch fpu {
		case "":
			p.goarm = "5"
		case "vfp", "vfpv2":
			p.goarm = "6"
		default:
			p.goarm = "7"
		}
	case "mips", "mipsel":
		p = platform{machine: elf.EM_MIPS, class: elf.ELFCLASS32, data: elf.ELFDATA2MSB, goarch: "mips", qemu: "qemu-mips-static"}
		if family == "mipsel" {
			p.data, p.goarch, p.qemu = elf.ELFDATA2LSB, "mipsle", "qemu-mipsel-static"
		}
		// The 24Kc has no FPU (the 24Kf has one).
		if cpu == "24kc" {
			p.gomips = "softfloat"
		}
	default:
		t.Fatalf("unknown architecture %s", arch)
	}
	switch {
	case cpu == "24kc":
		p.qemuCPU = "24Kc"
	case strings.HasPrefix(cpu, "cortex-"):
		p.qemuCPU = cpu
	}
	return p
}

func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: .ci/run must install %s", name, pkg)
	}
	t.Skipf("%s not found (apt-get install %s); skipping outside CI", name, pkg)
	return ""
}

// TestIPKsInstallAsOpkgExpects builds the package of every architecture
// and takes each apart as opkg would, checking the archive format, the
// control data, the files, and that the binary is the right one and runs.
func TestIPKsInstallAsOpkgExpects(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary per target; skipped with -short")
	}
	for _, a := range wantArchs {
		if q := platformOf(t, a).qemu; q != "" {
			needTool(t, q, "qemu-user-static")
		}
	}
	const root, version, commit = testRoot, testVersion, testCommit
	pkgs := packagesOf(t, "ipk")
	built := map[string]bool{}
	for _, p := range pkgs {
		built[p.arch] = true
	}
	for _, a := range wantArchs {
		if !built[a] {
			t.Errorf("no package for %s", a)
		}
	}

	initScript := readFile(t, root, "init.d/qpc")
	uciConfig := readFile(t, root, "uci/qpc")
	uciDefaults := readFile(t, root, "openwrt/files/qpc.uci-defaults")
	sysctl := readFile(t, root, "openwrt/files/qpc.sysctl")

	for _, pkg := range pkgs {
		t.Run(pkg.arch, func(t *testing.T) {
			if want := "qpc_" + version + "_" + pkg.arch + ".ipk"; filepath.Base(pkg.path) != want {
				t.Errorf("file name %s, want %s", filepath.Base(pkg.path), want)
			}
			ipkBytes, err := os.ReadFile(pkg.path)
			if err != nil {
				t.Fatal(err)
			}
			// The sizes are TestSizeBudgets' to check.
			if int64(len(ipkBytes)) != pkg.size {
				t.Errorf("%s is %d bytes, build said %d", pkg.path, len(ipkBytes), pkg.size)
			}

			outer := readTar(t, "outer", gunzip(t, "the .ipk", ipkBytes))
			wantMembers(t, "outer", outer, []member{
				{"./debian-binary", 0o644, false},
				{"./data.tar.gz", 0o644, false},
				{"./control.tar.gz", 0o644, false},
			})
			if got := string(outer[0].data); got != "2.0\n" {
				t.Errorf("debian-binary = %q, want \"2.0\\n\"", got)
			}
			data := gunzip(t, "data.tar.gz", outer[1].data)
			files := readTar(t, "data.tar", data)
			ctl := readTar(t, "control.tar", gunzip(t, "control.tar.gz", outer[2].data))

			wantMembers(t, "control.tar", ctl, []member{
				{"./", 0o755, true},
				{"./conffiles", 0o644, false},
				{"./control", 0o644, false},
				{"./postinst", 0o755, false},
				{"./prerm", 0o755, false},
			})
			checkControl(t, string(ctl[2].data), pkg.arch, version, len(data))
			if got := string(ctl[1].data); got != "/etc/config/qpc\n/etc/sysctl.d/50-qpc.conf\n" {
				t.Errorf("conffiles = %q", got)
			}
			for _, s := range []struct{ name, body, call string }{
				{"postinst", string(ctl[3].data), `default_postinst "$0" "$@"`},
				{"prerm", string(ctl[4].data), `default_prerm "$0" "$@"`},
			} {
				if !strings.HasPrefix(s.body, "#!/bin/sh\n") || !strings.Contains(s.body, `. "${IPKG_INSTROOT}/lib/functions.sh"`) || !strings.HasSuffix(s.body, s.call+"\n") {
					t.Errorf("%s does not source ${IPKG_INSTROOT}/lib/functions.sh and end with %s:\n%s", s.name, s.call, s.body)
				}
			}

			wantMembers(t, "data.tar", files, []member{
				{"./", 0o755, true},
				{"./etc/", 0o755, true},
				{"./etc/config/", 0o755, true},
				{"./etc/config/qpc", 0o600, false},
				{"./etc/init.d/", 0o755, true},
				{"./etc/init.d/qpc", 0o755, false},
				{"./etc/sysctl.d/", 0o755, true},
				{"./etc/sysctl.d/50-qpc.conf", 0o644, false},
				{"./etc/uci-defaults/", 0o755, true},
				{"./etc/uci-defaults/90-qpc", 0o644, false},
				{"./lib/", 0o755, true},
				{"./lib/upgrade/", 0o755, true},
				{"./lib/upgrade/keep.d/", 0o755, true},
				{"./lib/upgrade/keep.d/qpc", 0o644, false},
				{"./usr/", 0o755, true},
				{"./usr/bin/", 0o755, true},
				{"./usr/bin/qpc", 0o755, false},
			})
			for _, f := range []struct {
				i    int
				want string
			}{{3, uciConfig}, {5, initScript}, {7, sysctl}, {9, uciDefaults}, {13, "/etc/qpc/\n"}} {
				if string(files[f.i].data) != f.want {
					t.Errorf("%s differs from its source", files[f.i].name)
				}
			}

			bin := filepath.Join(t.TempDir(), "qpc")
			if err := os.WriteFile(bin, files[16].data, 0o755); err != nil {
				t.Fatal(err)
			}
			p := platformOf(t, pkg.arch)
			checkBinary(t, bin, p)

			argv := []string{bin, "version"}
			if p.qemu != "" {
				argv = []string{needTool(t, p.qemu, "qemu-user-static")}
				if p.qemuCPU != "" {
					argv = append(argv, "-cpu", p.qemuCPU)
				}
				argv = append(argv, bin, "version")
			}
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%q: %v\n%s", argv, err, out)
			}
			if want := fmt.Sprintf("qpc %s (%s) linux/%s\n", version, commit, p.goarch); string(out) != want {
				t.Errorf("%q printed %q, want %q", argv, out, want)
			}
		})
	}
}

func readFile(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func gunzip(t *testing.T, what string, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not gzip: %v", what, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return out
}

// entry is one member of a tar as read from its raw 512-byte headers.
type entry struct {
	name     string
	typeflag byte
	mode     int64
	uid, gid int64
	data     []byte
}

// readTar walks a tar block by block, without archive/tar, which would
// hide PAX headers: every header must carry GNU's magic "ustar  \0", no
// header may be a PAX one ('x', 'g'), and every owner must be 0/0.
func readTar(t *testing.T, what string, b []byte) []entry {
	t.Helper()
	var out []entry
	for off := 0; ; {
		if off+512 > len(b) {
			t.Fatalf("%s: truncated at byte %d", what, off)
		}
		h := b[off : off+512]
		if bytes.Equal(h, make([]byte, 512)) {
			break
		}
		if magic := string(h[257:265]); magic != "ustar  \x00" {
			t.Errorf("%s: header at byte %d has magic %q, want GNU's \"ustar  \\x00\"", what, off, magic)
		}
		if sum := octal(t, h[148:156]); sum != headerChecksum(h) {
			t.Errorf("%s: header at byte %d: checksum %d, computed %d", what, off, sum, headerChecksum(h))
		}
		e := entry{
			name:     cstring(h[0:100]),
			typeflag: h[156],
			mode:     octal(t, h[100:108]),
			uid:      octal(t, h[108:116]),
			gid:      octal(t, h[116:124]),
		}
		if e.typeflag == tar.TypeXHeader || e.typeflag == tar.TypeXGlobalHeader {
			t.Errorf("%s: PAX header %q at byte %d", what, e.name, off)
		}
		if e.uid != 0 || e.gid != 0 {
			t.Errorf("%s: %s owned by %d/%d, want 0/0", what, e.name, e.uid, e.gid)
		}
		size := int(octal(t, h[124:136]))
		off += 512
		if off+size > len(b) {
			t.Fatalf("%s: %s: data truncated", what, e.name)
		}
		e.data = b[off : off+size]
		off += (size + 511) / 512 * 512
		out = append(out, e)
	}
	return out
}

func octal(t *testing.T, f []byte) int64 {
	t.Helper()
	s := strings.Trim(string(f), " \x00")
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 8, 64)
	if err != nil {
		t.Fatalf("tar header field %q is not octal", f)
	}
	return n
}

func cstring(f []byte) string {
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	}
	return string(f)
}

// headerChecksum is the sum of the header's bytes with the checksum field
// read as spaces.
func headerChecksum(h []byte) int64 {
	var sum int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum
}

type member struct {
	name string
	mode int64
	dir  bool
}

// wantMembers checks the members of a tar, their order, type and mode.
func wantMembers(t *testing.T, what string, got []entry, want []member) {
	t.Helper()
	var names, wantNames []string
	for _, e := range got {
		names = append(names, e.name)
	}
	for _, m := range want {
		wantNames = append(wantNames, m.name)
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("%s members\n got %q\nwant %q", what, names, wantNames)
	}
	for i, m := range want {
		typ := byte(tar.TypeReg)
		if m.dir {
			typ = tar.TypeDir
		}
		if got[i].typeflag != typ || got[i].mode != m.mode {
			t.Errorf("%s: %s is type %q mode %o, want type %q mode %o", what, m.name, got[i].typeflag, got[i].mode, typ, m.mode)
		}
	}
}

// checkControl checks the control file's fields, their order as the
// OpenWrt SDK writes them, and Installed-Size against the data.tar.
func checkControl(t *testing.T, control, arch, version string, dataSize int) {
	t.Helper()
	var names []string
	values := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(control, "\n"), "\n") {
		if strings.HasPrefix(line, " ") {
			continue // continuation of Description
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("control line %q is not 'Name: value'", line)
		}
		names = append(names, name)
		values[name] = value
	}
	wantOrder := []string{"Package", "Version", "Depends", "Source", "SourceName", "License", "Section",
		"Require-User", "URL", "Maintainer", "Architecture", "Installed-Size", "Description"}
	if !reflect.DeepEqual(names, wantOrder) {
		t.Errorf("control fields\n got %q\nwant %q", names, wantOrder)
	}
	for name, want := range map[string]string{
		"Package":        "qpc",
		"Version":        version,
		"Architecture":   arch,
		"Installed-Size": strconv.Itoa(dataSize),
		"Require-User":   "qpc=427:qpc=427",
		"License":        "MIT",
		"Section":        "net",
	} {
		if values[name] != want {
			t.Errorf("control %s = %q, want %q", name, values[name], want)
		}
	}
}

// checkBinary checks the ELF header and the Go build settings against what
// the architecture string says.
func checkBinary(t *testing.T, path string, p platform) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != p.machine || f.Class != p.class || f.Data != p.data {
		t.Errorf("ELF %v %v %v, want %v %v %v", f.Machine, f.Class, f.Data, p.machine, p.class, p.data)
	}
	wantOrder := binary.ByteOrder(binary.LittleEndian)
	if p.data == elf.ELFDATA2MSB {
		wantOrder = binary.BigEndian
	}
	if f.ByteOrder != wantOrder {
		t.Errorf("byte order %v, want %v", f.ByteOrder, wantOrder)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("OS ABI %v, want Linux or none", f.OSABI)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("the binary asks for a dynamic loader; it must be static")
		}
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{
		"GOOS": "linux", "GOARCH": p.goarch, "GOARM": p.goarm, "GOMIPS": p.gomips, "CGO_ENABLED": "0",
	} {
		got := settings[key]
		if key == "GOARM" && p.goarm != "" {
			got, _, _ = strings.Cut(got, ",") // "5,softfloat" → "5"
		}
		if want != "" && got != want {
			t.Errorf("built with %s=%q, want %q", key, got, want)
		}
	}
}
