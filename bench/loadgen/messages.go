package main

// loadgen messages: the rows of `make bench-messages` (bench/messages/run).
//
//	loadgen messages -row group|pairs|rest|pages|connect -url URL -spec FILE
//	    -label lnk|node -out results.jsonl [-cpu ROLES] [flags]
//
// The spec is what bench/messages/seed.mjs writes for one target: the
// group conversation (50 members), the 1,000 direct conversations, the
// REST clients' conversations, the big conversation and the connect user,
// with tokens. Each row appends one JSON object per measurement to -out
// ({row, target, metrics, cpu}) and prints a line for people.
//
// Socket rows (this file): every socket is an Engine.IO v4 websocket
// connected to /chat with auth {token}, read whole-frame (msgframes.go)
// from one epoll loop. A message is sent as
//
//	42/chat,<ack>["send_message",{"conversationId":…,"message":{"content":"b<run> <n> …","type":"text","clientMessageId":"<run>-<n>"}}]
//
// and recognised, in each new_message frame, by the "b<run> <n>" at the
// start of its content. It is done when its ack came back with success
// AND every other socket of its conversation received its new_message.
//
//	group: closed loop, -window messages in flight in the group (the next
//	       goes out, from the next socket round-robin, when one is done),
//	       -warmup then -duration measured; then open loop at -rate
//	       messages/s for -lat-duration: send -> new_message at a socket of
//	       another member (and -> at every other socket, and -> ack).
//	pairs: the same closed loop in every direct conversation at once,
//	       -pairs-window in flight per conversation, the two partners
//	       taking turns; a message is done when the partner's socket has it.
//
// After each closed loop, sending stops and the loop drains (until
// everything in flight is done, or 30 s pass with no progress): a send
// without an ack by then is "lost", an acked message some socket never
// received is "undelivered".

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"
)

type msgMember struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

type msgConv struct {
	ConversationID string      `json:"conversationId"`
	Members        []msgMember `json:"members"`
	Token          string      `json:"token"` // rest: the client
	Seq            int64       `json:"seq"`   // big: the newest seq
}

type msgSpec struct {
	Group   msgConv   `json:"group"`
	Pairs   []msgConv `json:"pairs"`
	Rest    []msgConv `json:"rest"`
	Big     msgConv   `json:"big"`
	Connect struct {
		Token         string `json:"token"`
		Conversations int    `json:"conversations"`
	} `json:"connect"`
}

type msgOpts struct {
	row, label, out, host, base string
	spec                        msgSpec
	roles                       []cpuRole
	warmup, duration            time.Duration
	latDuration                 time.Duration
	window, pairsWindow         int
	groupSockets                int
	rate                        float64
	conc                        int
	connectTimeout              time.Duration
	clients                     int
	samples                     int
	maxTime                     time.Duration
	pageWarmup                  int
	deepPages                   int
}

func messagesMain(args []string) {
	fs := flag.NewFlagSet("messages", flag.ExitOnError)
	var o msgOpts
	var specPath, cpuSpec string
	fs.StringVar(&o.row, "row", "", "group|pairs|rest|pages|connect")
	fs.StringVar(&o.base, "url", "http://127.0.0.1:3001", "server base URL")
	fs.StringVar(&specPath, "spec", "", "spec JSON written by bench/messages/seed.mjs")
	fs.StringVar(&o.label, "label", "", "target name in the results (lnk, node)")
	fs.StringVar(&o.out, "out", "", "append JSON results to this file")
	fs.StringVar(&cpuSpec, "cpu", "", "roles whose CPU to report: name=pid:N|pgid:N|tree:N,...")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "throughput rows: run before measuring")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "throughput rows: measured window")
	fs.DurationVar(&o.latDuration, "lat-duration", 10*time.Second, "group: open-loop latency run")
	fs.IntVar(&o.window, "window", 32, "group: messages in flight")
	fs.IntVar(&o.pairsWindow, "pairs-window", 1, "pairs: messages in flight per conversation")
	fs.IntVar(&o.groupSockets, "group-sockets", 2, "group: sockets per member")
	fs.Float64Var(&o.rate, "rate", 200, "group: open-loop messages per second")
	fs.IntVar(&o.conc, "conc", 32, "concurrent socket handshakes")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", 5*time.Minute, "group, pairs: all sockets connected within this")
	fs.IntVar(&o.clients, "clients", 50, "rest: concurrent clients (one conversation each)")
	fs.IntVar(&o.samples, "samples", 200, "pages, connect: measured requests")
	fs.DurationVar(&o.maxTime, "max-time", 60*time.Second, "pages, connect: stop a row's sampling after this (at least 3 samples)")
	fs.IntVar(&o.pageWarmup, "page-warmup", 5, "pages, connect: unmeasured requests first")
	fs.IntVar(&o.deepPages, "deep-pages", 1000, "pages: how many pages back the cursor row goes")
	fs.Parse(args)

	raw, err := os.ReadFile(specPath)
	if err != nil {
		fatal("-spec: %v", err)
	}
	if err := json.Unmarshal(raw, &o.spec); err != nil {
		fatal("%s: %v", specPath, err)
	}
	u, err := url.Parse(o.base)
	if err != nil || u.Host == "" {
		fatal("bad -url %q", o.base)
	}
	o.host = u.Host
	o.roles = parseCPUSpec(cpuSpec)

	switch o.row {
	case "group", "pairs":
		socketRows(&o)
	case "rest":
		restRow(&o)
	case "pages":
		pageRows(&o)
	case "connect":
		connectRow(&o)
	default:
		fatal("-row must be group, pairs, rest, pages or connect")
	}
}

// emit appends one result to -out and returns it printed for people.
func emit(o *msgOpts, row string, metrics map[string]any, cpu map[string]float64) {
	r := map[string]any{"row": row, "target": o.label, "metrics": metrics,
		"cpu": cpu}
	b, _ := json.Marshal(r)
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fatal("-out: %v", err)
		}
		f.Write(append(b, '\n'))
		f.Close()
	}
}

func cpuText(cpu map[string]float64) string {
	keys := make([]string, 0, len(cpu))
	for k := range cpu {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, " %s %.0f%%", k, cpu[k])
	}
	return "cpu:" + b.String()
}

// quantile of sorted durations (ms), nearest rank.
func quantile(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func msOf(ns int64) float64 { return float64(ns) / 1e6 }

func p50p99(v []float64) (float64, float64) {
	sort.Float64s(v)
	return quantile(v, 0.50), quantile(v, 0.99)
}

// ---- the socket rows ----

type mconv struct {
	id     string
	socks  []int
	window int
	next   int // round-robin position of the next sender
	flight int
}

type msock struct {
	c      *conn
	conv   int
	pos    int // position in its conversation's socks
	member int
	obs    int // the socket that times this one's messages (another member)
	acks   map[uint64]int32
	dirty  bool
	dead   bool
}

type mmsg struct {
	sock   int32
	state  int8 // 0 sent, 1 acked ok, 2 ack failed
	done   bool
	gaveUp bool
	need   int32
	sentAt int64
	ackAt  int64
	obsAt  int64
	lastAt int64
}

type mloop struct {
	o     *msgOpts
	socks []*msock
	convs []*mconv
	msgs  []mmsg
	epfd  int
	run   string
	key   []byte // `"content":"b<run> `

	running bool // closed loop: send the next on completion
	lat     bool // open loop running (no refill)

	deliv, other, ackOK, ackFail, doneOK int64
	doneLat                              []float64 // ms, completed inside the window
	winFrom, winTo                       int64
	dead                                 int
	lastErr, ackErr                      string
}

func socketRows(o *msgOpts) {
	var convs []msgConv
	perMember := 1
	switch o.row {
	case "group":
		convs = []msgConv{o.spec.Group}
		perMember = o.groupSockets
	case "pairs":
		convs = o.spec.Pairs
	}
	var groups []group
	for _, c := range convs {
		g := group{ConversationID: c.ConversationID}
		for _, m := range c.Members {
			for k := 0; k < perMember; k++ {
				g.Tokens = append(g.Tokens, m.Token)
			}
		}
		groups = append(groups, g)
	}
	total := 0
	for _, g := range groups {
		total += len(g.Tokens)
	}
	t0 := time.Now()
	// A server that stopped answering would keep dialAll busy for an
	// hour (60 s per handshake, -conc at a time): give up after -connect-timeout.
	connected := make(chan struct{})
	go func() {
		select {
		case <-connected:
		case <-time.After(o.connectTimeout):
			fatal("%s: the %d sockets did not all connect within %v", o.label, total, o.connectTimeout)
		}
	}()
	conns, nerr, last := dialAll(o.host, groups, o.conc, 65536)
	close(connected)
	fmt.Printf("  %-5s %s: %d/%d sockets connected in %.1fs\n", o.label, o.row,
		len(conns), total, time.Since(t0).Seconds())
	if nerr > 0 || len(conns) != total {
		fatal("%d sockets failed to connect; last: %s", nerr, last)
	}

	runtime.LockOSThread()
	var rb [4]byte
	if f, err := os.Open("/dev/urandom"); err == nil {
		f.Read(rb[:])
		f.Close()
	}
	l := &mloop{o: o, run: fmt.Sprintf("%x", rb)}
	l.key = []byte(`"content":"b` + l.run + ` `)
	var err error
	if l.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		fatal("epoll: %v", err)
	}
	i := 0
	for ci, g := range groups {
		mc := &mconv{id: g.ConversationID}
		w := o.window
		if o.row == "pairs" {
			w = o.pairsWindow
		}
		mc.window = w
		for k := range g.Tokens {
			s := &msock{c: conns[i], conv: ci, pos: k, member: k / perMember,
				acks: map[uint64]int32{}}
			if err := s.c.detach(); err != nil {
				fatal("detach: %v", err)
			}
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP,
				Fd: int32(i)}
			if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, s.c.fd, &ev); err != nil {
				fatal("epoll_ctl: %v", err)
			}
			mc.socks = append(mc.socks, i)
			l.socks = append(l.socks, s)
			i++
		}
		// The observer: the first socket of another member after this one.
		for k, si := range mc.socks {
			n := len(mc.socks)
			for d := 1; d < n; d++ {
				other := l.socks[mc.socks[(k+d)%n]]
				if other.member != l.socks[si].member {
					l.socks[si].obs = mc.socks[(k+d)%n]
					break
				}
			}
		}
		l.convs = append(l.convs, mc)
	}
	// Connect-time traffic (presence) first.
	l.runUntil(time.Now().Add(500 * time.Millisecond))

	l.closedLoop()
	if o.row == "group" {
		l.openLoop()
	}
	for _, s := range l.socks {
		s.c.queueOp(opClose, []byte{0x03, 0xe8})
		l.flush(s)
		syscall.Close(s.c.fd)
	}
}

func (l *mloop) send(si int, now int64) {
	s := l.socks[si]
	if s.dead {
		return
	}
	c := l.convs[s.conv]
	idx := int32(len(l.msgs))
	l.msgs = append(l.msgs, mmsg{sock: int32(si), need: int32(len(c.socks) - 1),
		sentAt: now})
	s.c.ackID++
	s.acks[s.c.ackID] = idx
	var b [512]byte
	p := strconv.AppendUint(append(b[:0], "42/chat,"...), s.c.ackID, 10)
	p = append(p, `["send_message",{"conversationId":"`...)
	p = append(p, c.id...)
	p = append(p, `","message":{"content":"b`...)
	p = append(p, l.run...)
	p = append(p, ' ')
	p = strconv.AppendInt(p, int64(idx), 10)
	p = append(p, ` the quick brown fox jumps over the lazy dog","type":"text","clientMessageId":"`...)
	p = append(p, l.run...)
	p = append(p, '-')
	p = strconv.AppendInt(p, int64(idx), 10)
	p = append(p, `"}}]`...)
	s.c.queue(p)
	s.dirty = true
	c.flight++
}

// sendNext: the conversation's next sender, round-robin.
func (l *mloop) sendNext(ci int, now int64) {
	c := l.convs[ci]
	for tries := 0; tries < len(c.socks); tries++ {
		si := c.socks[c.next]
		c.next = (c.next + 1) % len(c.socks)
		if !l.socks[si].dead {
			l.send(si, now)
			return
		}
	}
}

func (l *mloop) finish(idx int32, now int64) {
	m := &l.msgs[idx]
	if m.done {
		return
	}
	m.done = true
	c := l.convs[l.socks[m.sock].conv]
	if !m.gaveUp {
		c.flight--
	}
	if m.state == 1 && now >= l.winFrom && now < l.winTo {
		l.doneOK++
		l.doneLat = append(l.doneLat, msOf(now-m.sentAt))
	}
	if l.running && !m.gaveUp {
		l.sendNext(l.socks[m.sock].conv, now)
	}
}

func (l *mloop) frame(si int, op byte, p []byte, now int64) {
	s := l.socks[si]
	switch op {
	case opText:
	case opPing:
		s.c.queueOp(opPong, p)
		s.dirty = true
		return
	case opClose:
		l.kill(s, "websocket close from the server")
		return
	default:
		return
	}
	switch {
	case bytes.HasPrefix(p, []byte(`42/chat,["new_message"`)):
		if now >= l.winFrom && now < l.winTo {
			l.deliv++
		}
		j := bytes.Index(p, l.key)
		if j < 0 {
			return
		}
		idx := int32(0)
		for k := j + len(l.key); k < len(p) && p[k] >= '0' && p[k] <= '9'; k++ {
			idx = idx*10 + int32(p[k]-'0')
		}
		if int(idx) >= len(l.msgs) {
			return
		}
		m := &l.msgs[idx]
		if int(m.sock) == si {
			return // the sender's own socket
		}
		if si == l.socks[m.sock].obs && m.obsAt == 0 {
			m.obsAt = now
		}
		if m.need > 0 {
			m.need--
			if m.need == 0 {
				m.lastAt = now
				if m.state == 1 {
					l.finish(idx, now)
				}
			}
		}
	case bytes.HasPrefix(p, pfxAck):
		r := p[len(pfxAck):]
		var id uint64
		k := 0
		for ; k < len(r) && r[k] >= '0' && r[k] <= '9'; k++ {
			id = id*10 + uint64(r[k]-'0')
		}
		idx, ok := s.acks[id]
		if !ok {
			return
		}
		delete(s.acks, id)
		m := &l.msgs[idx]
		m.ackAt = now
		head := r[k:min(len(r), k+48)]
		if bytes.Contains(head, []byte(`"success":true`)) {
			m.state = 1
			l.ackOK++
			if m.need == 0 {
				l.finish(idx, now)
			}
		} else {
			m.state = 2
			l.ackFail++
			if l.ackErr == "" {
				l.ackErr = string(r[k:min(len(r), k+200)])
			}
			l.finish(idx, now)
		}
	case len(p) == 1 && p[0] == '2':
		s.c.queue([]byte("3"))
		s.dirty = true
	case bytes.HasPrefix(p, pfxDisconnect) || (len(p) == 1 && p[0] == '1'):
		l.kill(s, fmt.Sprintf("server closed the session: %q", p))
	default:
		l.other++
	}
}

func (l *mloop) service(si int, now int64) {
	s := l.socks[si]
	if s.dead {
		return
	}
	for {
		s.c.compact()
		n, err := syscall.Read(s.c.fd, s.c.rbuf[s.c.w:])
		if n > 0 {
			s.c.w += n
			s.c.frames(func(op byte, p []byte) { l.frame(si, op, p, now) })
		}
		if err == syscall.EAGAIN || err == syscall.EINTR {
			break
		}
		if err != nil || n == 0 {
			l.kill(s, fmt.Sprintf("read: %v", err))
			return
		}
		if s.c.w < len(s.c.rbuf) {
			break
		}
	}
}

func (l *mloop) flush(s *msock) {
	s.dirty = false
	for len(s.c.wbuf) > 0 && !s.dead {
		n, err := syscall.Write(s.c.fd, s.c.wbuf)
		if n > 0 {
			s.c.wbuf = s.c.wbuf[:copy(s.c.wbuf, s.c.wbuf[n:])]
		}
		if err == syscall.EAGAIN {
			s.dirty = true
			return
		}
		if err != nil && err != syscall.EINTR {
			l.kill(s, fmt.Sprintf("write: %v", err))
		}
	}
}

func (l *mloop) kill(s *msock, why string) {
	if s.dead {
		return
	}
	s.dead = true
	l.dead++
	l.lastErr = why
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, s.c.fd, nil)
}

// runUntil: rounds of epoll_wait (blocking, so that the client costs
// nothing while it waits), every ready socket read, then every socket
// with something queued written once. due, when set, is called first in
// each round and returns when it next wants to run.
func (l *mloop) runUntil(deadline time.Time) { l.runWith(deadline, nil) }

func (l *mloop) runWith(deadline time.Time, due func(now time.Time) time.Time) {
	evs := make([]syscall.EpollEvent, 4096)
	lastSweep := time.Now()
	for {
		now := time.Now()
		if !now.Before(deadline) {
			return
		}
		wake := deadline
		if due != nil {
			if t := due(now); t.Before(wake) {
				wake = t
			}
		}
		l.flushAll()
		ms := int(math.Ceil(float64(time.Until(wake)) / 1e6))
		ms = max(0, min(ms, 50))
		n, err := syscall.EpollWait(l.epfd, evs, ms)
		if err != nil && err != syscall.EINTR {
			fatal("epoll_wait: %v", err)
		}
		t := time.Now().UnixNano()
		for i := 0; i < n; i++ {
			l.service(int(evs[i].Fd), t)
		}
		l.flushAll()
		if time.Since(lastSweep) > time.Second {
			l.sweep(t)
			lastSweep = time.Now()
		}
	}
}

func (l *mloop) flushAll() {
	for _, s := range l.socks {
		if s.dirty {
			l.flush(s)
		}
	}
}

// sweep: a message still open after 30 s gives its slot back (it will
// show as lost or undelivered unless it completes later), so one loss
// does not stall its conversation for the rest of the run.
func (l *mloop) sweep(now int64) {
	for i := range l.msgs {
		m := &l.msgs[i]
		if m.done || m.gaveUp || now-m.sentAt < 30e9 {
			continue
		}
		m.gaveUp = true
		ci := l.socks[m.sock].conv
		l.convs[ci].flight--
		if l.running {
			l.sendNext(ci, now)
		}
	}
}

func (l *mloop) open() int {
	n := 0
	for i := range l.msgs {
		if !l.msgs[i].done {
			n++
		}
	}
	return n
}

// drain: no new sends; wait until nothing is open, or 30 s of no
// progress (an overloaded server may answer a burst of 1,000 sends all
// at once, late), or 5 minutes.
func (l *mloop) drain() {
	last, quiet, t0 := l.open(), time.Now(), time.Now()
	for last > 0 && time.Since(quiet) < 30*time.Second && time.Since(t0) < 5*time.Minute {
		l.runUntil(time.Now().Add(100 * time.Millisecond))
		if n := l.open(); n != last {
			last, quiet = n, time.Now()
		}
	}
}

// losses over messages [from, to): sent without an ack, acked but not
// delivered to every other socket.
func (l *mloop) losses(from, to int) (lost, undelivered int) {
	for i := from; i < to; i++ {
		m := &l.msgs[i]
		switch {
		case m.state == 0:
			lost++
		case m.state == 1 && m.need > 0:
			undelivered++
		}
	}
	return
}

func (l *mloop) closedLoop() {
	o := l.o
	first := len(l.msgs)
	l.running = true
	l.winFrom, l.winTo = math.MaxInt64, math.MaxInt64
	now := time.Now().UnixNano()
	for ci, c := range l.convs {
		for k := 0; k < c.window; k++ {
			l.sendNext(ci, now)
		}
	}
	l.runUntil(time.Now().Add(o.warmup))
	d0, x0, f0 := l.deliv, l.other, l.ackFail
	l.doneOK, l.doneLat = 0, nil
	a := takeCPU(o.roles)
	l.winFrom = a.t.UnixNano()
	l.winTo = a.t.Add(o.duration).UnixNano()
	l.runUntil(a.t.Add(o.duration))
	b := takeCPU(o.roles)
	l.winTo = b.t.UnixNano()
	l.running = false
	l.drain()
	secs := b.t.Sub(a.t).Seconds()
	cpu := cpuPct(o.roles, a, b)
	lost, undeliv := l.losses(first, len(l.msgs))
	p50, p99 := p50p99(l.doneLat)
	window := l.convs[0].window
	inFlight := window * len(l.convs)
	mps := float64(l.doneOK) / secs
	dps := float64(l.deliv-d0) / secs
	row := o.row + "_throughput"
	fmt.Printf("  %-5s %-6s %d socket(s) in %d conversation(s), %d in flight: %8.0f messages/s %10.0f deliveries/s  "+
		"done p50 %.1f ms p99 %.1f ms  failed acks %d  lost %d  undelivered %d  dead sockets %d  %s\n",
		o.label, o.row, len(l.socks), len(l.convs), inFlight, mps, dps, p50, p99,
		l.ackFail-f0, lost, undeliv, l.dead, cpuText(cpu))
	if l.ackErr != "" {
		fmt.Printf("        first failed ack: %s\n", l.ackErr)
	}
	if l.dead > 0 {
		fmt.Printf("        last socket error: %s\n", l.lastErr)
	}
	emit(o, row, map[string]any{"messages_per_s": mps, "deliveries_per_s": dps,
		"done_p50_ms": p50, "done_p99_ms": p99, "failed_acks": l.ackFail - f0,
		"lost_acks": lost, "undelivered": undeliv, "dead_sockets": l.dead,
		"sockets": len(l.socks), "conversations": len(l.convs),
		"in_flight": inFlight, "sent": len(l.msgs) - first,
		"other_frames": l.other - x0, "seconds": secs,
		"first_error": l.ackErr}, cpu)
	l.ackErr = ""
}

// openLoop: messages at a fixed rate, round-robin over the group's
// sockets, whatever the server's pace; the latency of each is timed at
// its observer socket.
func (l *mloop) openLoop() {
	o := l.o
	warm := time.Second
	first := len(l.msgs)
	f0 := l.ackFail
	interval := time.Duration(float64(time.Second) / o.rate)
	start := time.Now()
	measureFrom := start.Add(warm).UnixNano()
	var a cpuSnap
	cpuStarted := false
	end := start.Add(warm + o.latDuration)
	next := start
	var measured []int32
	l.runWith(end, func(now time.Time) time.Time {
		if !cpuStarted && now.UnixNano() >= measureFrom {
			a = takeCPU(o.roles)
			cpuStarted = true
		}
		for !next.After(now) {
			t := time.Now().UnixNano()
			idx := int32(len(l.msgs))
			l.sendNext(0, t)
			if t >= measureFrom && int(idx) < len(l.msgs) {
				measured = append(measured, idx)
			}
			next = next.Add(interval)
		}
		return next
	})
	b := takeCPU(o.roles)
	l.drain()
	var obs, all, ack []float64
	for _, i := range measured {
		m := &l.msgs[i]
		if m.obsAt > 0 {
			obs = append(obs, msOf(m.obsAt-m.sentAt))
		}
		if m.lastAt > 0 && m.need == 0 {
			all = append(all, msOf(m.lastAt-m.sentAt))
		}
		if m.state == 1 {
			ack = append(ack, msOf(m.ackAt-m.sentAt))
		}
	}
	p50, p99 := p50p99(obs)
	a50, a99 := p50p99(all)
	k50, k99 := p50p99(ack)
	lost, undeliv := l.losses(first, len(l.msgs))
	secs := b.t.Sub(a.t).Seconds()
	cpu := cpuPct(o.roles, a, b)
	rate := float64(len(measured)) / o.latDuration.Seconds()
	fmt.Printf("  %-5s group  open loop at %.0f messages/s (%d timed): send->new_message at another member p50 %.1f ms p99 %.1f ms; "+
		"at all %d others p50 %.1f p99 %.1f; ack p50 %.1f p99 %.1f  failed acks %d lost %d undelivered %d  %s\n",
		o.label, rate, len(measured), p50, p99, len(l.convs[0].socks)-1, a50, a99,
		k50, k99, l.ackFail-f0, lost, undeliv, cpuText(cpu))
	if l.ackErr != "" {
		fmt.Printf("        first failed ack: %s\n", l.ackErr)
	}
	emit(o, "group_latency", map[string]any{"rate": rate, "timed": len(measured),
		"p50_ms": p50, "p99_ms": p99, "all_p50_ms": a50, "all_p99_ms": a99,
		"ack_p50_ms": k50, "ack_p99_ms": k99, "failed_acks": l.ackFail - f0,
		"lost_acks": lost, "undelivered": undeliv, "observed": len(obs),
		"seconds": secs, "first_error": l.ackErr}, cpu)
}

// ---- socket connect ----

// connectRow: sequential connects of the connect user (in 100
// conversations). Timed: from dialing TCP to the CONNECT reply
// `40/chat,{"sid":…}` (websocket upgrade, Engine.IO open, CONNECT with
// auth, the server's token check, user lookup, conversation lookup and
// room joins, all of which both servers do before they answer CONNECT).
func connectRow(o *msgOpts) {
	tok := o.spec.Connect.Token
	one := func() (float64, error) {
		t := time.Now()
		c, err := handshake(o.host, tok, 4096)
		d := time.Since(t)
		if err != nil {
			return 0, err
		}
		c.queueOp(opClose, []byte{0x03, 0xe8})
		c.flushNet()
		c.nc.Close()
		return float64(d) / 1e6, nil
	}
	for i := 0; i < o.pageWarmup; i++ {
		if _, err := one(); err != nil {
			fatal("connect: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var lat []float64
	var nerr int
	var lastErr string
	a := takeCPU(o.roles)
	deadline := a.t.Add(o.maxTime)
	for len(lat)+nerr < o.samples && (time.Now().Before(deadline) || len(lat)+nerr < 3) {
		d, err := one()
		if err != nil {
			nerr++
			lastErr = err.Error()
		} else {
			lat = append(lat, d)
		}
		// Let the server finish the last socket's disconnect.
		time.Sleep(20 * time.Millisecond)
	}
	b := takeCPU(o.roles)
	cpu := cpuPct(o.roles, a, b)
	p50, p99 := p50p99(lat)
	fmt.Printf("  %-5s connect (auth + %d rooms): %d samples  p50 %.1f ms  p99 %.1f ms  errors %d  %s\n",
		o.label, o.spec.Connect.Conversations, len(lat), p50, p99, nerr, cpuText(cpu))
	if lastErr != "" {
		fmt.Printf("        last error: %s\n", lastErr)
	}
	emit(o, "connect", map[string]any{"p50_ms": p50, "p99_ms": p99,
		"samples": len(lat), "errors": nerr, "rooms": o.spec.Connect.Conversations,
		"first_error": lastErr}, cpu)
}
