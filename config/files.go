package config

import (
	"fmt"
	"time"
)

// bindFiles binds the options of the node's file store (node/blob).
func (c *Node) bindFiles(size func(*int64, string, string), dur func(*time.Duration, string, string)) {
	size(&c.FileMaxSize, "file-max-size", "files: the largest file, in `MiB`, a user may upload")
	size(&c.FileUserQuota, "file-user-quota", "files: `MiB` one user's files may take together")
	size(&c.FileStoreSize, "file-store-size", "files: `MiB` all files may take together; when full, uploads are refused, nothing is evicted")
	dur(&c.FileTTL, "file-ttl", "files: how long a file is kept unless its uploader asks for less (1m to 720h)")
	dur(&c.FileMaxTTL, "file-max-ttl", "files: the longest an uploader may ask a file to be kept (1m to 720h)")
}

// The range of the file TTL options.
const (
	minFileTTL = time.Minute
	maxFileTTL = 30 * 24 * time.Hour
)

func (c *Node) validateFiles() error {
	for _, o := range []struct {
		flag string
		v    int64
	}{{"file-max-size", c.FileMaxSize}, {"file-user-quota", c.FileUserQuota}, {"file-store-size", c.FileStoreSize}} {
		if o.v <= 0 {
			return &FlagError{Flag: o.flag, Err: fmt.Errorf("%s is not at least 1 MiB", mib(o.v))}
		}
	}
	switch {
	case c.FileMaxSize > c.FileStoreSize:
		return &FlagError{Flag: "file-max-size", Err: fmt.Errorf("%s exceeds --file-store-size %s", mib(c.FileMaxSize), mib(c.FileStoreSize))}
	case c.FileMaxTTL < minFileTTL || c.FileMaxTTL > maxFileTTL:
		return &FlagError{Flag: "file-max-ttl", Err: fmt.Errorf("%s is not between %s and %s",
			shortDuration(c.FileMaxTTL), shortDuration(minFileTTL), shortDuration(maxFileTTL))}
	case c.FileTTL < minFileTTL || c.FileTTL > c.FileMaxTTL:
		return &FlagError{Flag: "file-ttl", Err: fmt.Errorf("%s is not between %s and --file-max-ttl %s",
			shortDuration(c.FileTTL), shortDuration(minFileTTL), shortDuration(c.FileMaxTTL))}
	case c.FileTTL%time.Second != 0 || c.FileMaxTTL%time.Second != 0:
		// Uploaders name their TTL in whole seconds.
		return &FlagError{Flag: "file-ttl", Err: fmt.Errorf("%s is not a whole number of seconds", c.FileTTL)}
	}
	return nil
}
