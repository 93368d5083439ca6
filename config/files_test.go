package config

import (
	"errors"
	"testing"
	"time"
)

func TestFileDefaultsSuitASmallRouter(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.FileMaxSize != 8<<20 || c.FileUserQuota != 32<<20 || c.FileStoreSize != 64<<20 ||
		c.FileTTL != 168*time.Hour || c.FileMaxTTL != 720*time.Hour {
		t.Errorf("defaults %d %d %d %v %v", c.FileMaxSize, c.FileUserQuota, c.FileStoreSize, c.FileTTL, c.FileMaxTTL)
	}
}

func TestFileOptionsComeFromFlagsAndEnvironment(t *testing.T) {
	c, err := load(t, []string{"--file-max-size", "2", "--file-ttl", "1h"},
		map[string]string{"QPC_FILE_STORE_SIZE": "16", "QPC_FILE_MAX_SIZE": "9"})
	if err != nil {
		t.Fatal(err)
	}
	if c.FileMaxSize != 2<<20 || c.FileStoreSize != 16<<20 || c.FileTTL != time.Hour {
		t.Errorf("got %d %d %v", c.FileMaxSize, c.FileStoreSize, c.FileTTL)
	}
}

func TestBadFileOptionsNameTheirFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--file-max-size", "0"}, "file-max-size"},
		{[]string{"--file-user-quota", "0"}, "file-user-quota"},
		{[]string{"--file-store-size", "4"}, "file-max-size"}, // 8 MiB files do not fit 4 MiB
		{[]string{"--file-max-ttl", "1000h"}, "file-max-ttl"},
		{[]string{"--file-ttl", "800h"}, "file-ttl"},
		{[]string{"--file-ttl", "30s"}, "file-ttl"},
	} {
		_, err := load(t, tc.args, nil)
		var fe *FlagError
		if !errors.As(err, &fe) || fe.Flag != tc.flag {
			t.Errorf("%v: %v, want a FlagError naming --%s", tc.args, err, tc.flag)
		}
	}
}
