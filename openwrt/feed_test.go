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
	for _, want := range []string{
		"include $(TOPDIR)/feeds/packages/lang/golang/golang-package.mk",
		"PKG_BUILD_DEPENDS:=golang/host",
		"PKG_BUILD_FLAGS:=no-mips16",
		"GO_PKG:=github.com/quicprochat/qpc\n",
		"GO_PKG_BUILD_PKG:=github.com/quicprochat/qpc/cmd/qpc\n",
		"github.com/quicprochat/qpc/version.Version=$(PKG_VERSION)-r$(PKG_RELEASE)",
		"github.com/quicprochat/qpc/version.Commit=$(QPC_COMMIT)",
		"scripts/cross/version.sh",
		"USERID:=qpc:qpc",
		"DEPENDS:=$(GO_ARCH_DEPENDS)",
		"define Package/qpc/conffiles\n/etc/config/qpc\n/etc/sysctl.d/50-qpc.conf\n/etc/qpc/\nendef",
		"$(call GoPackage/Package/Install/Bin,$(1))",
		"$(INSTALL_BIN) $(PKG_BUILD_DIR)/init.d/qpc $(1)/etc/init.d/qpc",
		"$(INSTALL_CONF) $(PKG_BUILD_DIR)/uci/qpc $(1)/etc/config/qpc",
		"$(INSTALL_DATA) ./files/qpc.uci-defaults $(1)/etc/uci-defaults/90-qpc",
		"$(INSTALL_DATA) ./files/qpc.sysctl $(1)/etc/sysctl.d/50-qpc.conf",
		"$(eval $(call GoBinPackage,qpc))",
		"$(eval $(call BuildPackage,qpc))",
	} {
		if !strings.Contains(mk, want) {
			t.Errorf("openwrt/Makefile lacks %q", want)
		}
	}
	for _, f := range []string{"files/qpc.uci-defaults", "files/qpc.sysctl", "../init.d/qpc", "../uci/qpc", "../scripts/cross/version.sh"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the recipe installs or runs %s: %v", f, err)
		}
	}
}
