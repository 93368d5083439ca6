package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestChannelDefaultsSuitASmallRouter(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name      string
		got, want any
	}{
		{"posts kept per channel", c.ChannelRetain, 100},
		{"retention", c.ChannelRetention, 168 * time.Hour},
		{"channels kept", c.ChannelMax, 256},
		{"store bytes", c.ChannelStoreSize, int64(4 << 20)},
		{"seen max", c.ChannelSeenMax, 50_000},
		{"posts per minute from one origin", c.ChannelOriginRate, 300},
		{"posts per minute from one user", c.ChannelUserRate, 30},
	} {
		if v.got != v.want {
			t.Errorf("%s = %v, want %v", v.name, v.got, v.want)
		}
	}
}

func TestChannelOptionsComeFromFlagsAndEnvironment(t *testing.T) {
	c, err := load(t, []string{
		"--channel-retain", "500",
		"--channel-retention", "24h",
		"--channel-max", "1024",
		"--channel-store-size", "8",
	}, map[string]string{
		"QPC_CHANNEL_RETAIN":      "7", // the flag wins
		"QPC_CHANNEL_RETENTION":   "1h",
		"QPC_CHANNEL_STORE_SIZE":  "2",
		"QPC_CHANNEL_SEEN_MAX":    "1000",
		"QPC_CHANNEL_ORIGIN_RATE": "60",
		"QPC_CHANNEL_USER_RATE":   "5",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name      string
		got, want any
	}{
		{"posts kept per channel (flag over env)", c.ChannelRetain, 500},
		{"retention (flag over env)", c.ChannelRetention, 24 * time.Hour},
		{"channels kept", c.ChannelMax, 1024},
		{"store bytes (flag over env)", c.ChannelStoreSize, int64(8 << 20)},
		{"seen max (env)", c.ChannelSeenMax, 1000},
		{"origin rate (env)", c.ChannelOriginRate, 60},
		{"user rate (env)", c.ChannelUserRate, 5},
	} {
		if v.got != v.want {
			t.Errorf("%s = %v, want %v", v.name, v.got, v.want)
		}
	}
}

func TestEachChannelOptionIsReadFromItsEnvironmentVariable(t *testing.T) {
	c, err := load(t, nil, map[string]string{
		"QPC_CHANNEL_RETAIN":    "10000",
		"QPC_CHANNEL_MAX":       "65536",
		"QPC_CHANNEL_RETENTION": "1m",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ChannelRetain != 10_000 || c.ChannelMax != 65_536 || c.ChannelRetention != time.Minute {
		t.Errorf("retain %d, max %d, retention %s; want the upper bounds 10000 and 65536 and the lower bound 1m",
			c.ChannelRetain, c.ChannelMax, c.ChannelRetention)
	}
	c, err = load(t, []string{"--channel-retain", "1", "--channel-max", "1", "--channel-retention", "720h",
		"--channel-seen-max", "1", "--channel-origin-rate", "1", "--channel-user-rate", "1"}, nil)
	if err != nil {
		t.Fatalf("the smallest values and the longest retention: %v", err)
	}
	if c.ChannelRetention != 720*time.Hour || c.ChannelSeenMax != 1 || c.ChannelOriginRate != 1 || c.ChannelUserRate != 1 {
		t.Errorf("retention %s, seen max %d, rates %d and %d; want 720h and 1, 1, 1",
			c.ChannelRetention, c.ChannelSeenMax, c.ChannelOriginRate, c.ChannelUserRate)
	}
}

func TestBadChannelValuesNameTheFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		flag    string
		mention string
		// parse marks a command-line value the flag package cannot parse:
		// that fails before validation, in an error that is no *FlagError
		// but names the flag itself.
		parse bool
	}{
		{name: "keeping no posts per channel is refused", args: []string{"--channel-retain", "0"}, flag: "channel-retain", mention: "0 is not between 1 and 10000"},
		{name: "keeping more than 10000 posts per channel is refused", args: []string{"--channel-retain", "10001"}, flag: "channel-retain", mention: "between 1 and 10000"},
		{name: "a post count that is no number is refused", args: []string{"--channel-retain", "many"}, flag: "channel-retain", mention: "many", parse: true},
		{name: "a retention under a minute is refused", args: []string{"--channel-retention", "59s"}, flag: "channel-retention", mention: "59s is not between 1m and 720h"},
		{name: "a retention over 30 days is refused", args: []string{"--channel-retention", "721h"}, flag: "channel-retention", mention: "721h is not between 1m and 720h"},
		{name: "a retention of a fraction of a second is refused", args: []string{"--channel-retention", "90.5s"}, flag: "channel-retention", mention: "whole number of seconds"},
		{name: "a retention without a unit is refused", args: []string{"--channel-retention", "7"}, flag: "channel-retention", mention: "7", parse: true},
		{name: "no channels at all is refused", args: []string{"--channel-max", "0"}, flag: "channel-max", mention: "0 is not between 1 and 65536"},
		{name: "more than 65536 channels are refused", args: []string{"--channel-max", "65537"}, flag: "channel-max", mention: "between 1 and 65536"},
		{name: "a store size of zero is refused", args: []string{"--channel-store-size", "0"}, flag: "channel-store-size", mention: "0 MiB is not at least 1 MiB"},
		{name: "a negative store size is refused", args: []string{"--channel-store-size", "-4"}, flag: "channel-store-size", mention: "at least 1 MiB"},
		{name: "a store size that is not a whole number of MiB is refused", args: []string{"--channel-store-size", "0.5"}, flag: "channel-store-size", mention: "whole number of MiB", parse: true},
		{name: "a seen-set of zero ids is refused", args: []string{"--channel-seen-max", "0"}, flag: "channel-seen-max", mention: "at least 1"},
		{name: "an origin rate of zero does not mean no limit", args: []string{"--channel-origin-rate", "0"}, flag: "channel-origin-rate", mention: "at least 1 post per minute"},
		{name: "a negative origin rate is refused", args: []string{"--channel-origin-rate", "-1"}, flag: "channel-origin-rate", mention: "at least 1"},
		{name: "a user rate of zero does not mean no limit", args: []string{"--channel-user-rate", "0"}, flag: "channel-user-rate", mention: "at least 1 post per minute"},
		{name: "a bad post count from the environment names the variable", env: map[string]string{"QPC_CHANNEL_RETAIN": "0"}, flag: "channel-retain", mention: "QPC_CHANNEL_RETAIN"},
		{name: "a bad retention from the environment names the variable", env: map[string]string{"QPC_CHANNEL_RETENTION": "1000h"}, flag: "channel-retention", mention: "QPC_CHANNEL_RETENTION"},
		{name: "a bad channel count from the environment names the variable", env: map[string]string{"QPC_CHANNEL_MAX": "100000"}, flag: "channel-max", mention: "QPC_CHANNEL_MAX"},
		{name: "an unparsable store size from the environment names the variable", env: map[string]string{"QPC_CHANNEL_STORE_SIZE": "4MiB"}, flag: "channel-store-size", mention: "QPC_CHANNEL_STORE_SIZE"},
		{name: "a bad seen-set size from the environment names the variable", env: map[string]string{"QPC_CHANNEL_SEEN_MAX": "0"}, flag: "channel-seen-max", mention: "QPC_CHANNEL_SEEN_MAX"},
		{name: "a bad origin rate from the environment names the variable", env: map[string]string{"QPC_CHANNEL_ORIGIN_RATE": "0"}, flag: "channel-origin-rate", mention: "QPC_CHANNEL_ORIGIN_RATE"},
		{name: "a bad user rate from the environment names the variable", env: map[string]string{"QPC_CHANNEL_USER_RATE": "-3"}, flag: "channel-user-rate", mention: "QPC_CHANNEL_USER_RATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			if tt.parse {
				if err == nil || !strings.Contains(err.Error(), "-"+tt.flag) || !strings.Contains(err.Error(), tt.mention) {
					t.Fatalf("err = %v, want a parse error naming -%s and %q", err, tt.flag, tt.mention)
				}
				return
			}
			var fe *FlagError
			if !errors.As(err, &fe) || fe.Flag != tt.flag {
				t.Fatalf("err = %v, want a *FlagError for --%s", err, tt.flag)
			}
			if !strings.Contains(err.Error(), "--"+tt.flag) || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("message %q does not name --%s and mention %q", err, tt.flag, tt.mention)
			}
		})
	}
}

// The retention is the longest TTL a post gets, and a post carries its TTL
// in whole seconds, at most 30 days (schemas/mesh.capnp, ChannelPost).
func TestChannelRetentionFitsAPostsTTL(t *testing.T) {
	if maxChannelRetention != 2_592_000*time.Second {
		t.Errorf("the longest retention is %s; a post's ttlSeconds allows at most 2592000 s", maxChannelRetention)
	}
}

func TestShortDurationDropsZeroUnits(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute:                "1m",
		720 * time.Hour:            "720h",
		90 * time.Minute:           "1h30m",
		10 * time.Second:           "10s",
		time.Hour + 5*time.Second:  "1h0m5s",
		1500 * time.Millisecond:    "1.5s",
		10*time.Minute + time.Hour: "1h10m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
