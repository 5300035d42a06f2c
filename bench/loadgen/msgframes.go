package main

// Whole-frame reading for the message benchmark (loadgen messages): unlike
// conn.parse, which looks at the first bytes of each payload only, a
// new_message or an ack is needed whole (the message's content names it),
// so a frame is handed over only once all of it is in the buffer, and the
// buffer grows when a frame is bigger than it.

import "encoding/binary"

// frames hands every complete buffered frame to fn and consumes it.
func (c *conn) frames(fn func(op byte, p []byte)) {
	for {
		b := c.rbuf[c.r:c.w]
		if len(b) < 2 {
			break
		}
		hl, plen := 2, int(b[1]&0x7f)
		switch plen {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if len(b) < hl {
			break
		}
		if plen == 126 {
			plen = int(binary.BigEndian.Uint16(b[2:4]))
		} else if plen == 127 {
			plen = int(binary.BigEndian.Uint64(b[2:10]))
		}
		if len(b) < hl+plen {
			if hl+plen > len(c.rbuf) {
				nb := make([]byte, 2*(hl+plen))
				c.w = copy(nb, b)
				c.r = 0
				c.rbuf = nb
			}
			break
		}
		fn(b[0]&0x0f, b[hl:hl+plen])
		c.r += hl + plen
	}
	c.compact()
}
