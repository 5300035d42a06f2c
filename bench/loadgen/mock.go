package main

// loadgen mock-server: a deliberately minimal /chat server (one thread,
// one epoll, every frame a socket gets in one round written with one
// write()) that does only the typing_start fanout. It is not a
// contender: it exists to measure the ceiling of the load client, i.e.
// how many deliveries per second the client can take on its one core when
// the server is as cheap as it gets (bench/fanout/run BENCH_CEILING=1).

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
)

type mconn struct {
	fd      int
	ws      bool
	uid     string
	rbuf    []byte
	r, w    int
	wbuf    []byte
	dirty   bool
	closed  bool
	payload []byte
}

type mock struct {
	epfd  int
	lfd   int
	conns map[int]*mconn
	rooms map[string][]*mconn
	convs map[string][]string // user id -> conversation ids
	dirty []*mconn
}

func mockServer(port int, roomsPath string) {
	raw, err := os.ReadFile(roomsPath)
	if err != nil {
		fatal("%v", err)
	}
	var users map[string]struct {
		Conversations []string `json:"conversations"`
	}
	if err := json.Unmarshal(raw, &users); err != nil {
		fatal("%s: %v", roomsPath, err)
	}
	m := &mock{conns: map[int]*mconn{}, rooms: map[string][]*mconn{},
		convs: map[string][]string{}}
	for id, u := range users {
		m.convs[id] = u.Conversations
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		fatal("listen: %v", err)
	}
	f, _ := ln.File()
	m.lfd, _ = syscall.Dup(int(f.Fd()))
	f.Close()
	ln.Close()
	syscall.SetNonblock(m.lfd, true)
	m.epfd, _ = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(m.lfd)}
	syscall.EpollCtl(m.epfd, syscall.EPOLL_CTL_ADD, m.lfd, &ev)
	fmt.Printf("mock server on 127.0.0.1:%d\n", port)

	evs := make([]syscall.EpollEvent, 1024)
	for {
		wait := -1
		if len(m.dirty) > 0 {
			wait = 1
		}
		n, err := syscall.EpollWait(m.epfd, evs, wait)
		if err != nil && err != syscall.EINTR {
			fatal("epoll_wait: %v", err)
		}
		for i := 0; i < n; i++ {
			fd := int(evs[i].Fd)
			if fd == m.lfd {
				m.accept()
			} else if c := m.conns[fd]; c != nil {
				m.read(c)
			}
		}
		d := m.dirty
		m.dirty = nil
		for _, c := range d {
			m.flush(c)
		}
	}
}

func (m *mock) accept() {
	for {
		fd, _, err := syscall.Accept4(m.lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			return
		}
		c := &mconn{fd: fd, rbuf: make([]byte, 65536)}
		m.conns[fd] = c
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		syscall.EpollCtl(m.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
	}
}

func (m *mock) read(c *mconn) {
	for {
		if c.r > 0 {
			c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
			c.r = 0
		}
		n, err := syscall.Read(c.fd, c.rbuf[c.w:])
		if n <= 0 {
			if err != syscall.EAGAIN && err != syscall.EINTR {
				m.drop(c)
			}
			return
		}
		c.w += n
		if !c.ws {
			m.upgrade(c)
		}
		if c.ws {
			m.frames(c)
		}
		if c.w < len(c.rbuf) {
			return
		}
	}
}

func (m *mock) upgrade(c *mconn) {
	end := bytes.Index(c.rbuf[c.r:c.w], []byte("\r\n\r\n"))
	if end < 0 {
		return
	}
	var key string
	for _, line := range strings.Split(string(c.rbuf[c.r:c.r+end]), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, "Sec-WebSocket-Key") {
			key = strings.TrimSpace(v)
		}
	}
	c.r += end + 4
	h := sha1.Sum([]byte(key + wsGUID))
	c.wbuf = append(c.wbuf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Accept: "+
		base64.StdEncoding.EncodeToString(h[:])+"\r\n\r\n"...)
	c.ws = true
	m.send(c, []byte(`0{"sid":"mockmockmockmockmock","upgrades":[],"pingInterval":25000,`+
		`"pingTimeout":20000,"maxPayload":1000000}`))
}

func (m *mock) frames(c *mconn) {
	for {
		b := c.rbuf[c.r:c.w]
		if len(b) < 2 {
			return
		}
		hl, plen := 2, int(b[1]&0x7f)
		if plen == 126 {
			hl = 4
		} else if plen == 127 {
			hl = 10
		}
		if b[1]&0x80 != 0 {
			hl += 4
		}
		if len(b) < hl {
			return
		}
		if plen == 126 {
			plen = int(binary.BigEndian.Uint16(b[2:4]))
		} else if plen == 127 {
			plen = int(binary.BigEndian.Uint64(b[2:10]))
		}
		if len(b) < hl+plen {
			return
		}
		p := append(c.payload[:0], b[hl:hl+plen]...)
		if b[1]&0x80 != 0 {
			mask := b[hl-4 : hl]
			for i := range p {
				p[i] ^= mask[i&3]
			}
		}
		c.payload = p
		c.r += hl + plen
		switch b[0] & 0x0f {
		case opText:
			m.packet(c, p)
		case opClose:
			m.drop(c)
			return
		}
	}
}

func (m *mock) packet(c *mconn, p []byte) {
	switch {
	case bytes.HasPrefix(p, []byte("40/chat,")):
		var auth struct{ Token string }
		json.Unmarshal(p[8:], &auth)
		parts := strings.Split(auth.Token, ".")
		if len(parts) == 3 {
			if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				var claims struct{ Sub string }
				json.Unmarshal(raw, &claims)
				c.uid = claims.Sub
			}
		}
		for _, cid := range m.convs[c.uid] {
			m.rooms[cid] = append(m.rooms[cid], c)
		}
		m.send(c, []byte(`40/chat,{"sid":"mockmockmockmockmock"}`))
	case bytes.HasPrefix(p, []byte("42/chat,")):
		q := p[8:]
		i := 0
		for i < len(q) && q[i] >= '0' && q[i] <= '9' {
			i++
		}
		id := q[:i]
		const key = `"conversationId":"`
		k := bytes.Index(q, []byte(key))
		if k < 0 {
			return
		}
		cid := q[k+len(key):]
		cid = cid[:bytes.IndexByte(cid, '"')]
		out := []byte(`42/chat,["user_typing",{"conversationId":"` + string(cid) +
			`","userId":"` + c.uid + `","isTyping":true,"user":{"id":"` + c.uid +
			`","name":"bench user","avatar":""}}]`)
		for _, o := range m.rooms[string(cid)] {
			if o != c {
				m.send(o, out)
			}
		}
		if len(id) > 0 {
			m.send(c, []byte(`43/chat,`+string(id)+`[{"success":true}]`))
		}
	case len(p) == 1 && p[0] == '3':
	}
}

// send queues an unmasked text frame; the round's end writes it.
func (m *mock) send(c *mconn, p []byte) {
	b := append(c.wbuf, 0x80|opText)
	switch {
	case len(p) < 126:
		b = append(b, byte(len(p)))
	case len(p) < 65536:
		b = append(b, 126, byte(len(p)>>8), byte(len(p)))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 127), uint64(len(p)))
	}
	c.wbuf = append(b, p...)
	if !c.dirty {
		c.dirty = true
		m.dirty = append(m.dirty, c)
	}
}

func (m *mock) flush(c *mconn) {
	c.dirty = false
	for len(c.wbuf) > 0 && !c.closed {
		n, err := syscall.Write(c.fd, c.wbuf)
		if n > 0 {
			c.wbuf = c.wbuf[:copy(c.wbuf, c.wbuf[n:])]
			continue
		}
		if err == syscall.EAGAIN {
			// The client is behind: keep the rest for the next round.
			c.dirty = true
			m.dirty = append(m.dirty, c)
			return
		}
		if err != syscall.EINTR {
			m.drop(c)
		}
	}
}

func (m *mock) drop(c *mconn) {
	if c.closed {
		return
	}
	c.closed = true
	syscall.EpollCtl(m.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	syscall.Close(c.fd)
	delete(m.conns, c.fd)
	for _, cid := range m.convs[c.uid] {
		r := m.rooms[cid]
		for i, o := range r {
			if o == c {
				m.rooms[cid] = append(r[:i], r[i+1:]...)
				break
			}
		}
	}
}
