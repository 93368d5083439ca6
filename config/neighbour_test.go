package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNeighbourLimitsHaveDefaultsAndComeFromFlagsAndEnvironment(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MeshNeighbourQuota() != 8<<20 || c.ChannelNeighbourRate != 600 || c.ChannelRelayRetention != 48*time.Hour {
		t.Errorf("defaults: neighbour quota %d, neighbour rate %d, relay retention %s; want 8 MiB, 600, 48h",
			c.MeshNeighbourQuota(), c.ChannelNeighbourRate, c.ChannelRelayRetention)
	}
	// A smaller store, set before the neighbour quota existed, stays
	// valid: the quota follows it.
	c, err = load(t, []string{"--mesh-store-size", "4", "--mesh-domain-quota", "2", "--mesh-origin-quota", "2"}, nil)
	if err != nil {
		t.Fatalf("a smaller store without a neighbour quota: %v", err)
	}
	if c.MeshNeighbourQuota() != 2<<20 {
		t.Errorf("neighbour quota %d with a 4 MiB store, want half of it", c.MeshNeighbourQuota())
	}
	c, err = load(t, []string{"--mesh-neighbour-quota", "4", "--channel-neighbour-rate", "120"}, map[string]string{
		"QPC_MESH_NEIGHBOUR_QUOTA":    "2", // the flag wins
		"QPC_CHANNEL_RELAY_RETENTION": "6h",
		"QPC_CHANNEL_NEIGHBOUR_RATE":  "7",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.MeshNeighbourQuota() != 4<<20 || c.ChannelNeighbourRate != 120 || c.ChannelRelayRetention != 6*time.Hour {
		t.Errorf("neighbour quota %d, neighbour rate %d, relay retention %s; want 4 MiB, 120 (flags) and 6h (env)",
			c.MeshNeighbourBytes, c.ChannelNeighbourRate, c.ChannelRelayRetention)
	}
}

func TestBadNeighbourLimitsNameTheFlag(t *testing.T) {
	for _, tt := range []struct {
		name, flag, mention string
		args                []string
		env                 map[string]string
	}{
		{name: "a negative neighbour quota is refused", args: []string{"--mesh-neighbour-quota", "-1"}, flag: "mesh-neighbour-quota", mention: "negative"},
		{name: "a neighbour quota above the store size is refused", args: []string{"--mesh-neighbour-quota", "17"}, flag: "mesh-neighbour-quota", mention: "17 MiB exceeds --mesh-store-size 16 MiB"},
		{name: "a neighbour rate of zero is refused", args: []string{"--channel-neighbour-rate", "0"}, flag: "channel-neighbour-rate", mention: "cannot be turned off"},
		{name: "a relay retention under a minute is refused", args: []string{"--channel-relay-retention", "30s"}, flag: "channel-relay-retention", mention: "30s is not between 1m and 720h"},
		{name: "a relay retention of a fraction of a second is refused", env: map[string]string{"QPC_CHANNEL_RELAY_RETENTION": "90.5s"}, flag: "channel-relay-retention", mention: "whole number of seconds"},
	} {
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
