// Package luciapp holds the tests of luci-app-qpc (openwrt/luci-app-qpc):
// the rpcd exec plugin, run under busybox ash against real `qpc node`
// processes, and the LuCI views, rendered in headless Chromium.
//
// Real LuCI, rpcd and uhttpd are C programs built on libubox, ubus and
// json-c with OpenWrt's toolchain; building them in CI would cost more
// than the whole test suite does now. So the views are served by a Go
// HTTP server on 127.0.0.1 with a small stand-in for LuCI's JavaScript
// runtime (shim/luci.js: the parts of luci.js, rpc.js, form.js and ui.js
// the views use, with LuCI's names and calling conventions) and a ubus
// JSON-RPC endpoint that runs the real plugin under busybox ash against a
// real node for every call, after checking the call against the plugin's
// real ACL file as rpcd would. What the pages show is the node's own data
// through the same plugin rpcd would run; what is not exercised is rpcd's
// and LuCI's own code (sessions, translations, saving a form). See
// docs/openwrt.md, "LuCI".
package luciapp
