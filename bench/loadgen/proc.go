package main

// CPU time of other processes (the server under test, Redis), from
// /proc/<pid>/stat, so a run shows whether the server saturated its core.

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ).
const userHZ = 100

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if p, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// statFields: the fields of /proc/<pid>/stat after "pid (comm)", from
// the state on (utime and stime are 11 and 12); nil if it cannot be read.
func statFields(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// procCPU: user+system time of all threads of the pids, summed.
func procCPU(pids []int) time.Duration {
	var ticks int64
	for _, p := range pids {
		f := statFields(strconv.Itoa(p))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / userHZ
}
