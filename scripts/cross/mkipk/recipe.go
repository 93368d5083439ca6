package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

// recipe is one architecture's package as openwrt/Makefile describes it,
// which the .ipk and the .apk both carry.
type recipe struct {
	arch, version string
	files         []file   // /usr/bin/qpc and the payload
	conffiles     []string // in the recipe's order
}

// pkgSource is what the SDK records as the package's source (the ipk's
// Source, the apk's origin).
const pkgSource = "feeds/qpc/openwrt"

// pkgConffiles are the recipe's conffiles.
var pkgConffiles = []string{"/etc/config/qpc", "/etc/sysctl.d/50-qpc.conf"}

func recipeFor(arch, version string, bin []byte, payload []file) recipe {
	return recipe{
		arch:      arch,
		version:   version,
		files:     append([]file{{name: "usr/bin/qpc", mode: 0o755, data: bin}}, payload...),
		conffiles: append([]string(nil), pkgConffiles...),
	}
}

// ipk is the recipe as an .ipk.
func (r recipe) ipk(mtime time.Time) *ipk {
	return &ipk{
		fields: []field{
			{"Package", pkgName},
			{"Version", r.version},
			{"Depends", "libc"},
			{"Source", pkgSource},
			{"SourceName", pkgName},
			{"License", pkgLicense},
			{"Section", "net"},
			{"Require-User", pkgUser},
			{"URL", pkgURL},
			{"Maintainer", pkgMaintainer},
			{"Architecture", r.arch},
			{"Description", pkgDesc},
		},
		conffiles: r.conffiles,
		postinst:  postinst,
		prerm:     prerm,
		files:     r.files,
		mtime:     mtime,
	}
}

// apk is the recipe as an .apk, with what package-pack.mk adds for apk:
// the scripts, /lib/apk/packages/qpc.{rusers,list,conffiles,
// conffiles_static}, the description on one line, and the virtual
// qpc-any that every 25.12 package provides.
func (r recipe) apk(mtime time.Time) (*apkPackage, error) {
	files := append([]file(nil), r.files...)
	files = append(files, file{name: "lib/apk/packages/" + pkgName + ".rusers", mode: 0o644, data: []byte(pkgUser + "\n")})
	// The list is made before the conffiles files join the tree, so it
	// names every other file (and itself not).
	var list []string
	for _, f := range files {
		list = append(list, "/"+f.name)
	}
	sort.Strings(list)
	files = append(files, file{name: "lib/apk/packages/" + pkgName + ".list", mode: 0o644, data: []byte(strings.Join(list, "\n") + "\n")})
	byName := map[string][]byte{}
	for _, f := range files {
		byName["/"+f.name] = f.data
	}
	var static strings.Builder
	for _, c := range r.conffiles {
		data, ok := byName[c]
		if !ok {
			return nil, fmt.Errorf("conffile %s is not in the package: %w", c, ErrBadPackageField)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&static, "%s %s\n", c, hex.EncodeToString(sum[:]))
	}
	files = append(files,
		file{name: "lib/apk/packages/" + pkgName + ".conffiles", mode: 0o644, data: []byte(strings.Join(r.conffiles, "\n") + "\n")},
		file{name: "lib/apk/packages/" + pkgName + ".conffiles_static", mode: 0o644, data: []byte(static.String())},
	)
	return &apkPackage{
		info: apkInfo{
			name:        pkgName,
			version:     r.version,
			description: strings.Join(strings.Fields(pkgDesc), " "),
			arch:        r.arch,
			license:     pkgLicense,
			origin:      pkgSource,
			maintainer:  pkgMaintainer,
			url:         pkgURL,
			depends:     []string{"libc"},
			provides:    []string{pkgName + "-any"},
		},
		files: files,
		scripts: map[int]string{
			scriptPostInstall:  apkPostInstall,
			scriptPreDeinstall: apkPreDeinstall,
			scriptPostUpgrade:  apkPostUpgrade,
		},
		mtime: mtime,
	}, nil
}

// The scripts package-pack.mk writes for a package without scripts of its
// own. apk runs them with the versions as arguments, not the script's
// name, so they name the package in $pkgname; add_group_and_user creates
// the user of qpc.rusers, default_postinst runs the uci-defaults script,
// applies the sysctl file and enables and starts the init script (an
// upgrade, PKG_UPGRADE=1, only restarts it); default_prerm stops and
// disables it.
const (
	apkPostInstall = `#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
export root="${IPKG_INSTROOT}"
export pkgname="qpc"
add_group_and_user
default_postinst
`
	apkPostUpgrade = "#!/bin/sh\nexport PKG_UPGRADE=1\n" + apkPostInstallBody
	// apkPostInstallBody is apkPostInstall without its #! line, as
	// package-pack.mk's sed leaves it.
	apkPostInstallBody = `[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
export root="${IPKG_INSTROOT}"
export pkgname="qpc"
add_group_and_user
default_postinst
`
	apkPreDeinstall = `#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
export root="${IPKG_INSTROOT}"
export pkgname="qpc"
default_prerm
`
)
