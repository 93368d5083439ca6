package openwrt

import (
	"os"
	"strings"
	"testing"
)

// TestFeedRecipeMatchesThePackage checks openwrt/Makefile, which only the
// OpenWrt SDK can run, for what the .ipk of scripts/cross/mkipk carries
// too: the same files at the same places, the same conffiles and user, the
// version stamped into the binary, and the settings golang-package.mk needs.
func TestFeedRecipeMatchesThePackage(t *testing.T) {
	b, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	mk := string(b)
	// The version is the recipe's own, never the build machine's (a
	// src-git feed has no tags to describe), and every conffile is a file:
	// opkg reads a directory entry as a file to checksum and fails.
	for _, bad := range []string{"$(shell", "git describe", "version.sh", "NOASSERTION", "Build/Prepare"} {
		if strings.Contains(mk, bad) {
			t.Errorf("openwrt/Makefile holds %q", bad)
		}
	}
	if i := strings.Index(mk, "define Package/qpc/conffiles\n"); i >= 0 {
		body, _, _ := strings.Cut(mk[i+len("define Package/qpc/conffiles\n"):], "endef")
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			if strings.HasSuffix(line, "/") {
				t.Errorf("conffiles names the directory %s", line)
			}
		}
	}
	if lic, err := os.ReadFile("../LICENSE"); err != nil || !strings.HasPrefix(string(lic), "MIT License\n") {
		t.Errorf("../LICENSE is not the MIT license the recipe states: %v", err)
	}
	for _, want := range []string{
		"include $(TOPDIR)/feeds/packages/lang/golang/golang-package.mk",
		"PKG_BUILD_DEPENDS:=golang/host",
		"PKG_BUILD_FLAGS:=no-mips16",
		"GO_PKG:=github.com/quicprochat/qpc\n",
		"GO_PKG_BUILD_PKG:=github.com/quicprochat/qpc/cmd/qpc\n",
		"github.com/quicprochat/qpc/version.Version=$(PKG_VERSION)-r$(PKG_RELEASE)",
		"github.com/quicprochat/qpc/version.Commit=$(PKG_SOURCE_VERSION)",
		"PKG_SOURCE_PROTO:=git\n",
		"PKG_SOURCE_URL:=https://github.com/quicprochat/qpc.git\n",
		"PKG_SOURCE_VERSION:=v$(PKG_VERSION)\n",
		"PKG_LICENSE:=MIT\n",
		"PKG_LICENSE_FILES:=LICENSE\n",
		"GO_PKG_TAGS:=router,netgo,osusergo\n",
		"USERID:=qpc=427:qpc=427\n",
		"DEPENDS:=$(GO_ARCH_DEPENDS)",
		"define Package/qpc/conffiles\n/etc/config/qpc\n/etc/sysctl.d/50-qpc.conf\nendef",
		"$(call GoPackage/Package/Install/Bin,$(1))",
		"$(INSTALL_BIN) $(PKG_BUILD_DIR)/init.d/qpc $(1)/etc/init.d/qpc",
		"$(INSTALL_CONF) $(PKG_BUILD_DIR)/uci/qpc $(1)/etc/config/qpc",
		"$(INSTALL_DATA) ./files/qpc.uci-defaults $(1)/etc/uci-defaults/90-qpc",
		"$(INSTALL_DATA) ./files/qpc.sysctl $(1)/etc/sysctl.d/50-qpc.conf",
		"$(INSTALL_DATA) ./files/qpc.keep $(1)/lib/upgrade/keep.d/qpc",
		"$(eval $(call GoBinPackage,qpc))",
		"$(eval $(call BuildPackage,qpc))",
	} {
		if !strings.Contains(mk, want) {
			t.Errorf("openwrt/Makefile lacks %q", want)
		}
	}
	for _, f := range []string{"files/qpc.uci-defaults", "files/qpc.sysctl", "files/qpc.keep", "../init.d/qpc", "../uci/qpc", "../LICENSE"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the recipe installs or runs %s: %v", f, err)
		}
	}
}
