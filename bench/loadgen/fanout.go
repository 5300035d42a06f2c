package main

// The fanout run: one thread, one epoll, every socket non-blocking.
//
// Each round takes every frame the kernel has queued for every ready
// socket (one read() per socket, 64 KiB), handles them, writes what they
// call for (the next events, pongs) in one write() per socket, and then
// sleeps until -tick has passed since the round began. When the server
// is fast the rounds batch many frames per syscall and the client wakes
// at most 1/tick times a second, so its CPU per delivery stays small;
// when nothing is queued it costs one epoll_wait per tick.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

type fanoutOpts struct {
	host     string
	groups   []group
	set      string
	event    string
	label    string
	windows  []int
	repeat   int
	conc     int
	rbuf     int
	warmup   time.Duration
	duration time.Duration
	tick     time.Duration

	waitStdin, join bool

	serverPids, auxPids []int
}

type sample struct {
	t           time.Time
	deliv, acks int64
	cpu         time.Duration
	server      time.Duration
	aux         time.Duration
	rounds      int64
	reads       int64
}

type loop struct {
	conns    []*conn
	epfd     int
	running  bool
	histOn   bool
	joining  bool
	joinOK   int
	joinFail int
	rounds   int64
	reads    int64
	dead     int
	lastErr  string
}

func fanout(o fanoutOpts) {
	members := 0
	for _, g := range o.groups {
		members += len(g.Tokens)
	}
	t0 := time.Now()
	conns, nerr, last := dialAll(o.host, o.groups, o.conc, o.rbuf)
	fmt.Fprintf(os.Stderr, "loadgen: %s %s: %d/%d sockets connected in %.1fs",
		o.label, o.set, len(conns), members, time.Since(t0).Seconds())
	if nerr > 0 {
		fmt.Fprintf(os.Stderr, " (%d errors; last: %s)", nerr, last)
	}
	fmt.Fprintln(os.Stderr)
	if len(conns) != members {
		fatal("not every socket connected")
	}
	runtime.LockOSThread()
	l := &loop{conns: conns}
	var err error
	if l.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		fatal("epoll: %v", err)
	}
	for i, c := range conns {
		c.event, _ = json.Marshal([]any{o.event,
			map[string]string{"conversationId": c.conv}})
		if err := c.detach(); err != nil {
			fatal("detach: %v", err)
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP,
			Fd: int32(i)}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
			fatal("epoll_ctl: %v", err)
		}
	}
	if o.waitStdin {
		// The script adds what must come after the connects (the
		// conversations of -join) and then says go.
		fmt.Printf("CONNECTED sockets=%d\n", len(conns))
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			fatal("no go on stdin: %v", err)
		}
	}
	if o.join {
		l.joinAll(o.tick)
	}
	// Let connect-time traffic (presence, joins) settle first.
	l.runUntil(time.Now().Add(500*time.Millisecond), o.tick)

	for _, w := range o.windows {
		for r := 1; r <= o.repeat; r++ {
			l.measure(o, w, r)
		}
	}
	for _, c := range conns {
		c.queueOp(opClose, []byte{0x03, 0xe8})
		l.flush(c)
		syscall.Close(c.fd)
	}
	if l.dead > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %d sockets died; last: %s\n", l.dead, l.lastErr)
		os.Exit(1)
	}
}

// totals: counters summed over the sockets.
type totals struct {
	sent, acks, deliv, other int64
}

func (l *loop) totals() totals {
	var t totals
	for _, c := range l.conns {
		t.sent += c.sent
		t.acks += c.acks
		t.deliv += c.deliv
		t.other += c.other
	}
	return t
}

// measure: one run on the open sockets. Every socket puts window events
// in flight, the warm-up passes, the measured window is timed, sending
// stops and the deliveries are drained; then one RESULT line.
func (l *loop) measure(o fanoutOpts, window, run int) {
	t0 := l.totals()
	for _, c := range l.conns {
		c.hist = [nbuckets]uint64{}
	}
	l.running = true
	now := time.Now().UnixNano()
	for _, c := range l.conns {
		if c.dead {
			continue
		}
		for i := 0; i < window; i++ {
			c.queueEvent(now)
		}
		l.flush(c)
	}
	l.runUntil(time.Now().Add(o.warmup), o.tick)
	l.histOn = true
	a := l.snap()
	a.server, a.aux = procCPU(o.serverPids), procCPU(o.auxPids)
	l.runUntil(a.t.Add(o.duration), o.tick)
	b := l.snap()
	b.server, b.aux = procCPU(o.serverPids), procCPU(o.auxPids)
	l.histOn = false
	l.running = false

	// Drain: run until nothing moved for 2 s, so that the deliveries of
	// every acked event are in and a loss shows as a shortfall.
	lastS := l.snap()
	for quiet := lastS.t; time.Since(quiet) < 2*time.Second; {
		l.runUntil(time.Now().Add(100*time.Millisecond), o.tick)
		if s := l.snap(); s.deliv != lastS.deliv || s.acks != lastS.acks {
			lastS, quiet = s, time.Now()
		}
	}
	t1 := l.totals()
	var hist [nbuckets]uint64
	for _, c := range l.conns {
		for i := range hist {
			hist[i] += c.hist[i]
		}
	}

	secs := b.t.Sub(a.t).Seconds()
	dps := float64(b.deliv-a.deliv) / secs
	eps := float64(b.acks-a.acks) / secs
	cpu := (b.cpu - a.cpu).Seconds()
	scpu := (b.server - a.server).Seconds()
	xcpu := (b.aux - a.aux).Seconds()
	reads := b.reads - a.reads
	perRead := 0.0
	if reads > 0 {
		perRead = float64(b.deliv-a.deliv+b.acks-a.acks) / float64(reads)
	}
	// Each event reaches the other members of its room.
	acked := t1.acks - t0.acks
	delivered := t1.deliv - t0.deliv
	expected := acked * int64(len(o.groups[0].Tokens)-1)
	p50, p99 := pct(hist[:], 0.50)/1e3, pct(hist[:], 0.99)/1e3
	fmt.Printf("%-6s %-6s run %d window=%-3d deliveries/s=%.0f  events/s=%.0f  "+
		"ack p50=%.1fms p99=%.1fms  cpu: client %.0f%% server %.0f%% aux %.0f%%  lost %d\n",
		o.label, o.set, run, window, dps, eps, p50, p99,
		100*cpu/secs, 100*scpu/secs, 100*xcpu/secs, expected-delivered)
	fmt.Printf("RESULT label=%s set=%s run=%d sockets=%d window=%d deliveries_per_s=%.0f "+
		"events_per_s=%.0f ack_p50_ms=%.3f ack_p99_ms=%.3f client_cpu_s=%.3f "+
		"wall_s=%.3f client_cpu_pct=%.1f server_cpu_pct=%.1f aux_cpu_pct=%.1f "+
		"frames_per_read=%.1f sent=%d acked=%d delivered=%d expected=%d other=%d dead=%d\n",
		o.label, o.set, run, len(l.conns), window, dps, eps, p50, p99, cpu, secs,
		100*cpu/secs, 100*scpu/secs, 100*xcpu/secs, perRead, t1.sent-t0.sent,
		acked, delivered, expected, t1.other-t0.other, l.dead)
}

// runUntil runs rounds until the deadline.
func (l *loop) runUntil(deadline time.Time, tick time.Duration) {
	evs := make([]syscall.EpollEvent, 4096)
	for {
		start := time.Now()
		if !start.Before(deadline) {
			return
		}
		n, err := syscall.EpollWait(l.epfd, evs, 0)
		if err != nil && err != syscall.EINTR {
			fatal("epoll_wait: %v", err)
		}
		now := time.Now().UnixNano()
		for i := 0; i < n; i++ {
			l.service(l.conns[evs[i].Fd], now)
		}
		l.rounds++
		wait := tick - time.Since(start)
		if n == 0 && wait < 100*time.Microsecond {
			wait = 100 * time.Microsecond
		}
		if left := time.Until(deadline); wait > left {
			wait = left
		}
		if wait > 0 {
			ts := syscall.NsecToTimespec(int64(wait))
			syscall.Nanosleep(&ts, nil)
		}
	}
}

// service reads everything queued on c, handles it and writes the replies.
func (l *loop) service(c *conn, now int64) {
	if c.dead {
		return
	}
	for {
		c.compact()
		n, err := syscall.Read(c.fd, c.rbuf[c.w:])
		if n > 0 {
			l.reads++
			c.w += n
			c.parse(func(op byte, p []byte, plen int) {
				l.frame(c, op, p, now)
			})
		}
		if err == syscall.EAGAIN || err == syscall.EINTR {
			break
		}
		if err != nil || n == 0 {
			l.kill(c, fmt.Sprintf("read: %v", err))
			return
		}
		if c.w < len(c.rbuf) {
			break
		}
	}
	l.flush(c)
}

func (l *loop) frame(c *conn, op byte, p []byte, now int64) {
	switch op {
	case opText:
	case opPing:
		c.queueOp(opPong, p)
		return
	case opClose:
		l.kill(c, "websocket close from the server")
		return
	default:
		return
	}
	switch {
	case bytes.HasPrefix(p, pfxUserTyping):
		c.deliv++
	case bytes.HasPrefix(p, pfxAck):
		l.ack(c, p[len(pfxAck):], now)
	case len(p) == 1 && p[0] == '2':
		c.queue([]byte("3"))
	case bytes.HasPrefix(p, pfxDisconnect) || (len(p) == 1 && p[0] == '1'):
		l.kill(c, fmt.Sprintf("server closed the session: %q", p))
	default:
		c.other++
	}
}

// ack: record the round trip, send the next event.
func (l *loop) ack(c *conn, m []byte, now int64) {
	var id uint64
	i := 0
	for ; i < len(m) && m[i] >= '0' && m[i] <= '9'; i++ {
		id = id*10 + uint64(m[i]-'0')
	}
	if l.joining {
		if bytes.HasPrefix(m[i:], []byte(`[{"success":true`)) {
			l.joinOK++
		} else {
			l.joinFail++
			l.lastErr = fmt.Sprintf("join_conversation: %s", m[i:])
		}
		return
	}
	c.acks++
	if l.histOn {
		us := float64(now-c.sentAt[id%1024]) / 1e3
		b := 0
		if us >= 1 {
			b = min(int(4*math.Log2(us)), nbuckets-1)
		}
		c.hist[b]++
	}
	if l.running {
		c.queueEvent(now)
	}
}

// joinAll: every socket sends join_conversation for its conversation
// and the acks are awaited (lnk-chat checks membership in the database).
func (l *loop) joinAll(tick time.Duration) {
	l.joining = true
	for _, c := range l.conns {
		c.ackID++
		p := strconv.AppendUint([]byte("42/chat,"), c.ackID, 10)
		p = append(p, `["join_conversation",{"conversationId":"`+c.conv+`"}]`...)
		c.queue(p)
		l.flush(c)
	}
	t0 := time.Now()
	for l.joinOK+l.joinFail < len(l.conns)-l.dead && time.Since(t0) < 5*time.Minute {
		l.runUntil(time.Now().Add(100*time.Millisecond), tick)
	}
	l.joining = false
	fmt.Fprintf(os.Stderr, "loadgen: join_conversation: %d ok, %d failed in %.1fs\n",
		l.joinOK, l.joinFail, time.Since(t0).Seconds())
	if l.joinOK != len(l.conns) {
		fatal("not every socket joined its conversation; last: %s", l.lastErr)
	}
}

// flush writes c's queued frames; what the kernel does not take now is
// kept for the next round (the client sends little, so this is rare).
func (l *loop) flush(c *conn) {
	for len(c.wbuf) > 0 && !c.dead {
		n, err := syscall.Write(c.fd, c.wbuf)
		if n > 0 {
			c.wbuf = c.wbuf[:copy(c.wbuf, c.wbuf[n:])]
		}
		if err == syscall.EAGAIN {
			return
		}
		if err != nil && err != syscall.EINTR {
			l.kill(c, fmt.Sprintf("write: %v", err))
		}
	}
}

func (l *loop) kill(c *conn, why string) {
	if c.dead {
		return
	}
	c.dead = true
	l.dead++
	l.lastErr = why
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
}

func (l *loop) snap() sample {
	s := sample{t: time.Now(), cpu: cpuTime(), rounds: l.rounds, reads: l.reads}
	for _, c := range l.conns {
		s.deliv += c.deliv
		s.acks += c.acks
	}
	return s
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pct: the upper edge of the bucket holding the q-quantile, in µs.
func pct(h []uint64, q float64) float64 {
	var tot, acc uint64
	for _, v := range h {
		tot += v
	}
	if tot == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(tot)))
	for i, v := range h {
		acc += v
		if acc >= want {
			return math.Pow(2, float64(i+1)/4)
		}
	}
	return math.Pow(2, float64(len(h))/4)
}
