package main

// CPU time of the processes around a measured window, by role, for the
// message benchmark: -cpu "kore=pgid:123,ferretdb=pid:456,postgres=tree:789"
//
//	pid:N   the process N (all its threads)
//	pgid:N  every process of process group N (Kore and its workers)
//	tree:N  N and all its descendants, plus the time of the children N
//	        has reaped (cutime+cstime): PostgreSQL's postmaster forks a
//	        backend per connection, and one that exits inside the window
//	        still counts
//
// The load client itself is "client" (getrusage of this process), and
// everything else the machine ran is "other" (/proc/stat).

import (
	"os"
	"strconv"
	"strings"
	"time"
)

type cpuRole struct {
	name string
	kind string
	id   int
}

type procStat struct {
	pid, ppid, pgrp int
	ticks, reaped   int64
}

func parseCPUSpec(s string) []cpuRole {
	var out []cpuRole
	for _, f := range strings.Split(s, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			continue
		}
		kind, id, ok := strings.Cut(v, ":")
		n, err := strconv.Atoi(id)
		if !ok || err != nil || n <= 0 {
			continue
		}
		out = append(out, cpuRole{name, kind, n})
	}
	return out
}

func scanProcs() []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// After "pid (comm) ": state ppid pgrp session tty tpgid flags
		// minflt cminflt majflt cmajflt utime stime cutime cstime ...
		f := statFields(e.Name())
		if len(f) < 15 {
			continue
		}
		num := func(k int) int64 {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			return v
		}
		out = append(out, procStat{pid: pid, ppid: int(num(1)),
			pgrp: int(num(2)), ticks: num(11) + num(12),
			reaped: num(13) + num(14)})
	}
	return out
}

// machineBusy: the ticks every CPU of the machine spent not idle (the
// "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal).
func machineBusy() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, not iowait
			busy += n
		}
	}
	return busy
}

// cpuSnap: clock ticks per role at one moment.
type cpuSnap struct {
	t     time.Time
	roles map[string]int64
	self  time.Duration
	busy  int64
}

func takeCPU(roles []cpuRole) cpuSnap {
	s := cpuSnap{t: time.Now(), roles: map[string]int64{}, self: cpuTime(),
		busy: machineBusy()}
	if len(roles) == 0 {
		return s
	}
	procs := scanProcs()
	kids := map[int][]int{}
	byPid := map[int]procStat{}
	for _, p := range procs {
		kids[p.ppid] = append(kids[p.ppid], p.pid)
		byPid[p.pid] = p
	}
	for _, r := range roles {
		var t int64
		switch r.kind {
		case "pid":
			t = byPid[r.id].ticks
		case "pgid":
			for _, p := range procs {
				if p.pgrp == r.id {
					t += p.ticks
				}
			}
		case "tree":
			t = byPid[r.id].reaped
			stack := []int{r.id}
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				t += byPid[p].ticks
				stack = append(stack, kids[p]...)
			}
		}
		s.roles[r.name] = t
	}
	return s
}

// cpuPct: % of one core per role between a and b, "client" included, and
// "other": what the rest of the machine took (other work on a shared
// machine shows here).
func cpuPct(roles []cpuRole, a, b cpuSnap) map[string]float64 {
	secs := b.t.Sub(a.t).Seconds()
	out := map[string]float64{}
	if secs <= 0 {
		return out
	}
	sum := 0.0
	for _, r := range roles {
		d := b.roles[r.name] - a.roles[r.name]
		if d < 0 {
			d = 0
		}
		out[r.name] = 100 * float64(d) / userHZ / secs
		sum += out[r.name]
	}
	out["client"] = 100 * (b.self - a.self).Seconds() / secs
	sum += out["client"]
	out["other"] = max(0, 100*float64(b.busy-a.busy)/userHZ/secs-sum)
	return out
}
