// Package openwrt holds the tests of the OpenWrt packaging of qpc: the procd
// init script (init.d/qpc), the default UCI config (uci/qpc) and the
// first-install script (openwrt/files/qpc.uci-defaults). The feed recipe
// that builds the package in the OpenWrt SDK is openwrt/Makefile; the .ipk
// and .apk files made without the SDK come from scripts/cross/mkipk. The
// tests run the init script under busybox ash with stand-ins that record
// what procd would receive, the jail's mounts included.
package openwrt
