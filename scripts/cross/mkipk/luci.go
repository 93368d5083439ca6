package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// luci-app-qpc: the LuCI pages of the node (openwrt/luci-app-qpc), one
// package for every architecture, as LuCI's luci.mk makes its apps:
//
//	/usr/libexec/rpcd/qpc                              0755  rpcd plugin: ubus object qpc
//	/usr/share/rpcd/acl.d/luci-app-qpc.json            0644  who may call what
//	/usr/share/luci/menu.d/luci-app-qpc.json           0644  Services » qpc
//	/www/luci-static/resources/view/qpc/*.js           0644  the views
//
// The .ipk is Architecture all; the .apk is arch noarch, in the noarch
// subdirectory of the apk output.
const (
	luciName    = "luci-app-qpc"
	luciSource  = "feeds/qpc/openwrt/luci-app-qpc"
	luciSection = "luci"
	luciDesc    = "LuCI pages of the qpc node: status, settings, invites and users"
	luciSrcDir  = "openwrt/luci-app-qpc"
)

// luciDepends are the packages luci-app-qpc needs: the node, LuCI's
// JavaScript runtime and rpcd, which runs the plugin.
var luciDepends = []string{"libc", "qpc", "luci-base", "rpcd"}

// luciPostinst makes a running router see the new pages at once: rpcd
// reads plugins and ACLs when it starts, LuCI caches its menu index.
// Nothing runs when the package goes into an image (IPKG_INSTROOT).
const luciPostinst = `#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] && exit 0
rm -f /tmp/luci-indexcache*
rm -rf /tmp/luci-modulecache/
/etc/init.d/rpcd reload 2>/dev/null
exit 0
`

// luciPrerm has nothing to stop: the pages are files.
const luciPrerm = "#!/bin/sh\nexit 0\n"

// readLuciPayload reads the package's files from the source tree: root/
// as it is, htdocs/ under /www.
func readLuciPayload(root string) ([]file, error) {
	var files []file
	for _, part := range []struct{ dir, prefix string }{{"root", ""}, {"htdocs", "www/"}} {
		base := filepath.Join(root, luciSrcDir, part.dir)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s: not a regular file", p)
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			mode := int64(0o644)
			if strings.HasPrefix(filepath.ToSlash(rel), "usr/libexec/rpcd/") {
				mode = 0o755
			}
			files = append(files, file{name: part.prefix + filepath.ToSlash(rel), mode: mode, data: b})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no files", luciSrcDir)
	}
	return files, nil
}

// luciIPK is luci-app-qpc as an .ipk.
func luciIPK(version string, files []file, mtime time.Time) *ipk {
	return &ipk{
		fields: []field{
			{"Package", luciName},
			{"Version", version},
			{"Depends", strings.Join(luciDepends, ", ")},
			{"Source", luciSource},
			{"SourceName", luciName},
			{"License", pkgLicense},
			{"Section", luciSection},
			{"URL", pkgURL},
			{"Maintainer", pkgMaintainer},
			{"Architecture", "all"},
			{"Description", luciDesc},
		},
		postinst: luciPostinst,
		prerm:    luciPrerm,
		files:    files,
		mtime:    mtime,
	}
}

// luciAPK is luci-app-qpc as an .apk, with the file list package-pack.mk
// adds.
func luciAPK(version string, files []file, mtime time.Time) *apkPackage {
	files = append([]file(nil), files...)
	var list []string
	for _, f := range files {
		list = append(list, "/"+f.name)
	}
	sort.Strings(list)
	files = append(files, file{name: "lib/apk/packages/" + luciName + ".list", mode: 0o644, data: []byte(strings.Join(list, "\n") + "\n")})
	return &apkPackage{
		info: apkInfo{
			name:        luciName,
			version:     version,
			description: luciDesc,
			arch:        "noarch",
			license:     pkgLicense,
			origin:      luciSource,
			maintainer:  pkgMaintainer,
			url:         pkgURL,
			depends:     luciDepends,
			provides:    []string{luciName + "-any"},
		},
		files:   files,
		scripts: map[int]string{scriptPostInstall: luciPostinst, scriptPostUpgrade: luciPostinst},
		mtime:   mtime,
	}
}

// buildLuci writes luci-app-qpc in formats ("ipk", "apk"): o.out/
// luci-app-qpc_VERSION_all.ipk and o.apkOut/noarch/luci-app-qpc-VERSION.apk.
func buildLuci(o options, formats []string, version string, mtime time.Time) ([]built, error) {
	files, err := readLuciPayload(o.root)
	if err != nil {
		return nil, err
	}
	apkOut := o.apkOut
	if apkOut == "" {
		apkOut = o.out
	}
	var out []built
	for _, f := range formats {
		var buf bytes.Buffer
		var name string
		switch f {
		case "ipk":
			if err := luciIPK(version, files, mtime).write(&buf); err != nil {
				return nil, fmt.Errorf("%s: %w", luciName, err)
			}
			name = filepath.Join(o.out, fmt.Sprintf("%s_%s_all.ipk", luciName, version))
		case "apk":
			p := luciAPK(version, files, mtime)
			p.signers = o.signers
			if err := p.write(&buf); err != nil {
				return nil, fmt.Errorf("%s: %w", luciName, err)
			}
			name = filepath.Join(apkOut, "noarch", fmt.Sprintf("%s-%s.apk", luciName, version))
		default:
			return nil, fmt.Errorf("%q: %w", f, ErrUnknownFormat)
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		out = append(out, built{arch: "all", path: name, format: f, size: int64(buf.Len())})
	}
	return out, nil
}
