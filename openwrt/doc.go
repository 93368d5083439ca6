// Package openwrt holds the tests of the OpenWrt packaging of qpc: the procd
// init script (init.d/qpc), the default UCI config (uci/qpc) and the
// first-install script (openwrt/files/qpc.uci-defaults). The feed recipe
// that builds the package in the OpenWrt SDK is openwrt/Makefile; the .ipk
// files made without the SDK come from scripts/cross/mkipk.
package openwrt
