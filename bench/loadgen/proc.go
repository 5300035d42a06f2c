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

// procCPU: user+system time of all threads of the pids, summed.
func procCPU(pids []int) time.Duration {
	var ticks int64
	for _, p := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / userHZ
}
