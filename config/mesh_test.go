package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/envelope"
)

func TestStoreAndForwardDefaultsSuitASmallRouter(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MeshTTL != 168*time.Hour || c.MeshMaxHops != 8 || c.MeshSeenMax != 50_000 {
		t.Errorf("TTL %s, max hops %d, seen max %d; want 168h, 8, 50000", c.MeshTTL, c.MeshMaxHops, c.MeshSeenMax)
	}
	if c.MeshStoreBytes != 16<<20 || c.MeshDomainBytes != 8<<20 || c.MeshOriginBytes != 8<<20 {
		t.Errorf("store %d, domain quota %d, origin quota %d bytes; want 16, 8 and 8 MiB",
			c.MeshStoreBytes, c.MeshDomainBytes, c.MeshOriginBytes)
	}
}

func TestStoreAndForwardOptionsComeFromFlagsAndEnvironment(t *testing.T) {
	c, err := load(t, []string{"--mesh-ttl", "48h", "--mesh-store-size", "64", "--mesh-max-hops", "32"}, map[string]string{
		"QPC_MESH_TTL":          "1h", // the flag wins
		"QPC_MESH_DOMAIN_QUOTA": "32",
		"QPC_MESH_ORIGIN_QUOTA": " 4 ",
		"QPC_MESH_SEEN_MAX":     "1000",
		"QPC_MESH_MAX_HOPS":     "3", // the flag wins
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name      string
		got, want any
	}{
		{"TTL (flag over env)", c.MeshTTL, 48 * time.Hour},
		{"max hops (flag over env)", c.MeshMaxHops, uint8(32)},
		{"store bytes", c.MeshStoreBytes, int64(64 << 20)},
		{"domain quota bytes (env)", c.MeshDomainBytes, int64(32 << 20)},
		{"origin quota bytes (env, spaces)", c.MeshOriginBytes, int64(4 << 20)},
		{"seen max (env)", c.MeshSeenMax, 1000},
	} {
		if v.got != v.want {
			t.Errorf("%s = %v, want %v", v.name, v.got, v.want)
		}
	}
}

func TestBadStoreAndForwardValuesNameTheFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		flag    string
		mention string
	}{
		{name: "a TTL under a second is refused", args: []string{"--mesh-ttl", "500ms"}, flag: "mesh-ttl", mention: "between 1s and 720h"},
		{name: "a TTL over 30 days is refused", args: []string{"--mesh-ttl", "721h"}, flag: "mesh-ttl", mention: "721h"},
		{name: "a TTL of a fraction of a second is refused", args: []string{"--mesh-ttl", "90.5s"}, flag: "mesh-ttl", mention: "whole number of seconds"},
		{name: "zero max hops are refused", args: []string{"--mesh-max-hops", "0"}, flag: "mesh-max-hops", mention: "between 1 and 32"},
		{name: "33 max hops are refused", args: []string{"--mesh-max-hops", "33"}, flag: "mesh-max-hops", mention: "33"},
		{name: "max hops beyond a byte from the environment name the variable", env: map[string]string{"QPC_MESH_MAX_HOPS": "300"}, flag: "mesh-max-hops", mention: "QPC_MESH_MAX_HOPS"},
		{name: "a store size of zero is refused", args: []string{"--mesh-store-size", "0"}, flag: "mesh-store-size", mention: "positive"},
		{name: "a negative domain quota is refused", args: []string{"--mesh-domain-quota", "-1"}, flag: "mesh-domain-quota", mention: "positive"},
		{name: "an origin quota of zero is refused", args: []string{"--mesh-origin-quota", "0"}, flag: "mesh-origin-quota", mention: "positive"},
		{name: "a domain quota above the store size is refused", args: []string{"--mesh-store-size", "4"}, flag: "mesh-domain-quota", mention: "8 MiB exceeds --mesh-store-size 4 MiB"},
		{name: "an origin quota above the store size is refused", args: []string{"--mesh-origin-quota", "17"}, flag: "mesh-origin-quota", mention: "17 MiB exceeds --mesh-store-size 16 MiB"},
		{name: "a size that is not a whole number of MiB is refused", env: map[string]string{"QPC_MESH_STORE_SIZE": "1.5"}, flag: "mesh-store-size", mention: "whole number of MiB"},
		{name: "a size too large for bytes is refused", env: map[string]string{"QPC_MESH_STORE_SIZE": "9007199254740992"}, flag: "mesh-store-size", mention: "whole number of MiB"},
		{name: "a seen-set of zero ids is refused", args: []string{"--mesh-seen-max", "0"}, flag: "mesh-seen-max", mention: "positive"},
		{name: "a bad TTL from the environment names the variable", env: map[string]string{"QPC_MESH_TTL": "0s"}, flag: "mesh-ttl", mention: "QPC_MESH_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			var fe *FlagError
			if !errors.As(err, &fe) || fe.Flag != tt.flag {
				t.Fatalf("err = %v, want a *FlagError for --%s", err, tt.flag)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("message %q does not mention %q", err, tt.mention)
			}
		})
	}
}

// The node's bounds must not allow envelopes that mesh/envelope refuses.
func TestStoreAndForwardBoundsAreTheEnvelopes(t *testing.T) {
	if maxMeshMaxHops != envelope.MaxHopsLimit || maxMeshTTL != envelope.MaxTTL {
		t.Errorf("max hops %d and TTL %s here, %d and %s in mesh/envelope", maxMeshMaxHops, maxMeshTTL, envelope.MaxHopsLimit, envelope.MaxTTL)
	}
}
