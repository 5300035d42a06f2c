package main

// Client side of RFC 6455 and of the Engine.IO/Socket.IO handshake.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xa

	// Payload bytes handed to the classifier; the rest of a frame is
	// skipped unread.
	prefixMax = 128

	// Latency histogram: bucket i holds round trips below 2^((i+1)/4) µs.
	nbuckets = 128
)

var (
	pfxOpen       = []byte(`0{`)
	pfxUserTyping = []byte(`42/chat,["user_typing"`)
	pfxAck        = []byte(`43/chat,`)
	pfxConnected  = []byte(`40/chat,{`)
	pfxConnErr    = []byte(`44/chat,`)
	pfxDisconnect = []byte(`41/chat,`)
	wsGUID        = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

type conn struct {
	nc   *net.TCPConn // until detach(); then fd
	fd   int
	conv string
	mask [4]byte

	rbuf []byte
	r, w int
	skip int // bytes of the current frame still to discard
	wbuf []byte

	event  []byte // ["typing_start",{"conversationId":"…"}]
	ackID  uint64
	sentAt [1024]int64
	sent   int64
	deliv  int64
	acks   int64
	other  int64
	dead   bool
	hist   [nbuckets]uint64
}

// dialAll opens and authenticates one socket per (group, token), at most
// conc handshakes at a time. Failures are counted, not fatal.
func dialAll(host string, groups []group, conc, rbuf int) ([]*conn, int, string) {
	type job struct {
		g     int
		token string
	}
	var jobs []job
	for gi, g := range groups {
		for _, t := range g.Tokens {
			jobs = append(jobs, job{gi, t})
		}
	}
	out := make([]*conn, len(jobs))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var nerr int
	var last string
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, j job) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := handshake(host, j.token, rbuf)
			if err != nil {
				mu.Lock()
				nerr++
				last = err.Error()
				mu.Unlock()
				return
			}
			c.conv = groups[j.g].ConversationID
			out[i] = c
		}(i, j)
	}
	wg.Wait()
	var ok []*conn
	for _, c := range out {
		if c != nil {
			ok = append(ok, c)
		}
	}
	return ok, nerr, last
}

// handshake: the websocket upgrade, the Engine.IO open packet, CONNECT to
// /chat with the token, and the CONNECT reply.
func handshake(host, token string, rbuf int) (*conn, error) {
	nc0, err := net.DialTimeout("tcp", host, 30*time.Second)
	if err != nil {
		return nil, err
	}
	nc := nc0.(*net.TCPConn)
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	c := &conn{nc: nc, fd: -1, rbuf: make([]byte, rbuf)}
	rand.Read(c.mask[:])
	if err := c.upgrade(host); err != nil {
		nc.Close()
		return nil, err
	}
	state := 0 // 0: want open, 1: want CONNECT reply, 2: connected
	for first := true; state < 2 && err == nil; first = false {
		if !first {
			if err = c.fill(); err != nil {
				break
			}
		}
		c.parse(func(op byte, p []byte, n int) {
			if op != opText {
				return
			}
			switch {
			case state == 0 && bytes.HasPrefix(p, pfxOpen):
				auth, _ := json.Marshal(map[string]string{"token": token})
				c.queue(append([]byte("40/chat,"), auth...))
				state = 1
			case state == 1 && bytes.HasPrefix(p, pfxConnected):
				state = 2
			case bytes.HasPrefix(p, pfxConnErr):
				err = fmt.Errorf("connect_error: %s", p)
			case len(p) == 1 && p[0] == '2':
				c.queue([]byte("3"))
			}
		})
		if err == nil {
			err = c.flushNet()
		}
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *conn) upgrade(host string) error {
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.nc.Write([]byte(req)); err != nil {
		return err
	}
	for {
		n, err := c.nc.Read(c.rbuf[c.w:])
		if err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
		c.w += n
		end := bytes.Index(c.rbuf[:c.w], []byte("\r\n\r\n"))
		if end < 0 {
			if c.w == len(c.rbuf) {
				return errors.New("upgrade: response too long")
			}
			continue
		}
		head := c.rbuf[:end]
		if !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) {
			line, _, _ := bytes.Cut(head, []byte("\r\n"))
			return fmt.Errorf("upgrade refused: %s", line)
		}
		h := sha1.Sum([]byte(key + wsGUID))
		if !bytes.Contains(head, []byte(base64.StdEncoding.EncodeToString(h[:]))) {
			return errors.New("upgrade: bad Sec-WebSocket-Accept")
		}
		// Frames that came with the response stay in the buffer.
		c.r = end + 4
		return nil
	}
}

// detach takes the socket away from Go's netpoller: the event loop reads
// it with its own epoll, and Go's must not wake up for its traffic.
func (c *conn) detach() error {
	rc, err := c.nc.SyscallConn()
	if err != nil {
		return err
	}
	var derr error
	rc.Control(func(fd uintptr) {
		c.fd, derr = syscall.Dup(int(fd))
	})
	if derr != nil {
		return derr
	}
	c.nc.Close()
	c.nc = nil
	return syscall.SetNonblock(c.fd, true)
}

// fill does one read() into the socket's buffer (net.Conn mode), after
// moving the unconsumed tail (a partial frame) to the front.
func (c *conn) fill() error {
	c.compact()
	n, err := c.nc.Read(c.rbuf[c.w:])
	c.w += n
	return err
}

func (c *conn) compact() {
	if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
}

// parse hands every buffered frame header, with up to prefixMax bytes of
// its payload, to fn, and consumes the frame (n is the payload length).
// frameHeader reads a server frame's header (unmasked) at the start of
// b: its length and the payload's; ok is false until all of it is there.
func frameHeader(b []byte) (hl, plen int, ok bool) {
	hl, plen = 2, int(b[1]&0x7f)
	switch plen {
	case 126:
		hl = 4
	case 127:
		hl = 10
	}
	if len(b) < hl {
		return 0, 0, false
	}
	if plen == 126 {
		plen = int(binary.BigEndian.Uint16(b[2:4]))
	} else if plen == 127 {
		plen = int(binary.BigEndian.Uint64(b[2:10]))
	}
	return hl, plen, true
}

func (c *conn) parse(fn func(op byte, p []byte, n int)) {
	for {
		if c.skip > 0 {
			k := min(c.skip, c.w-c.r)
			c.skip -= k
			c.r += k
			if c.skip > 0 {
				return
			}
		}
		b := c.rbuf[c.r:c.w]
		if len(b) < 2 {
			return
		}
		hl, plen, ok := frameHeader(b)
		if !ok {
			return
		}
		look := min(plen, prefixMax)
		if len(b) < hl+look {
			return
		}
		fn(b[0]&0x0f, b[hl:hl+look], plen)
		if len(b) >= hl+plen {
			c.r += hl + plen
		} else {
			c.skip = hl + plen - len(b)
			c.r = c.w
		}
	}
}

// queue appends one masked frame to the write buffer.
func (c *conn) queueOp(op byte, p []byte) {
	b := append(c.wbuf, 0x80|op)
	switch {
	case len(p) < 126:
		b = append(b, 0x80|byte(len(p)))
	case len(p) < 65536:
		b = append(b, 0x80|126, byte(len(p)>>8), byte(len(p)))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(len(p)))
	}
	b = append(b, c.mask[:]...)
	off := len(b)
	b = append(b, p...)
	for i := range p {
		b[off+i] ^= c.mask[i&3]
	}
	c.wbuf = b
}

func (c *conn) queue(p []byte) {
	c.queueOp(opText, p)
}

// queueEvent: `42/chat,<id>["typing_start",{"conversationId":"…"}]`.
func (c *conn) queueEvent(now int64) {
	var tmp [256]byte
	c.ackID++
	c.sentAt[c.ackID%1024] = now
	c.sent++
	p := strconv.AppendUint(append(tmp[:0], "42/chat,"...), c.ackID, 10)
	c.queue(append(p, c.event...))
}

func (c *conn) flushNet() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}
