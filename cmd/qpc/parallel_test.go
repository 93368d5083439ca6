package main

import (
	"flag"
	"strconv"
)

// processTestParallelism is how many tests marked t.Parallel run at once
// unless -parallel says otherwise. The process tests mostly wait: for a
// node process to serve, for Argon2id in a qpc process, for a federation
// link to notice a dead peer. go test's default, GOMAXPROCS, is 2 on a
// 2-core machine, which left the package at minutes of mostly idle CPU.
const processTestParallelism = 8

// parallelProcessTests raises -parallel to processTestParallelism when the
// command line did not set it. TestMain calls it before m.Run, which reads
// the flag.
func parallelProcessTests() {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(processTestParallelism))
	}
}
