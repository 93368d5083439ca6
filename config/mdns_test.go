package config

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
)

// fakeInterfaces makes only the named interfaces exist for the test.
func fakeInterfaces(t *testing.T, names ...string) {
	old := interfaceByName
	t.Cleanup(func() { interfaceByName = old })
	interfaceByName = func(n string) (*net.Interface, error) {
		if slices.Contains(names, n) {
			return &net.Interface{Name: n}, nil
		}
		return nil, errors.New("no such network interface")
	}
}

func TestMDNSInterfacesAreRepeatableAndTheirEnvTwinTakesAList(t *testing.T) {
	fakeInterfaces(t, "br-lan", "wlan0", "bat0")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"a repeated flag collects every interface", []string{"--mdns", "--mdns-iface", "br-lan", "--mdns-iface", "wlan0"}, nil, []string{"br-lan", "wlan0"}},
		{"the environment takes a comma-separated list", nil, map[string]string{"QPC_MDNS": "true", "QPC_MDNS_IFACE": "br-lan,wlan0"}, []string{"br-lan", "wlan0"}},
		{"the environment takes a space-separated list", nil, map[string]string{"QPC_MDNS": "1", "QPC_MDNS_IFACE": "br-lan wlan0  bat0"}, []string{"br-lan", "wlan0", "bat0"}},
		{"the flag wins over the environment", []string{"--mdns-iface", "bat0"}, map[string]string{"QPC_MDNS": "true", "QPC_MDNS_IFACE": "br-lan,wlan0"}, []string{"bat0"}},
		{"mdns alone means every interface", []string{"--mdns"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !c.MDNS || !slices.Equal(c.MDNSIfaces, tt.want) {
				t.Errorf("mdns=%v ifaces=%q, want true %q", c.MDNS, c.MDNSIfaces, tt.want)
			}
		})
	}
}

func TestBadMDNSInterfacesNameTheFlag(t *testing.T) {
	fakeInterfaces(t, "br-lan")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		fromEnv string
		mention string
	}{
		{name: "an interface that does not exist is refused", args: []string{"--mdns", "--mdns-iface", "br-wan9"}, mention: "br-wan9"},
		{name: "interfaces without --mdns are refused", args: []string{"--mdns-iface", "br-lan"}, mention: "without --mdns"},
		{name: "a missing interface from the environment names the variable", args: []string{"--mdns"},
			env: map[string]string{"QPC_MDNS_IFACE": "br-lan,nope0"}, fromEnv: "QPC_MDNS_IFACE", mention: "nope0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			var fe *FlagError
			if !errors.As(err, &fe) || fe.Flag != "mdns-iface" || fe.Env != tt.fromEnv {
				t.Fatalf("err = %v, want a *FlagError for --mdns-iface (env %q)", err, tt.fromEnv)
			}
			if !strings.Contains(err.Error(), "--mdns-iface") || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("message %q does not name --mdns-iface and %q", err, tt.mention)
			}
		})
	}
}
