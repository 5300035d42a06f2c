package main

// Whole-frame reading for the message benchmark (loadgen messages): unlike
// conn.parse, which looks at the first bytes of each payload only, a
// new_message or an ack is needed whole (the message's content names it),
// so a frame is handed over only once all of it is in the buffer, and the
// buffer grows when a frame is bigger than it.

// frames hands every complete buffered frame to fn and consumes it.
func (c *conn) frames(fn func(op byte, p []byte)) {
	for {
		b := c.rbuf[c.r:c.w]
		if len(b) < 2 {
			break
		}
		hl, plen, ok := frameHeader(b)
		if !ok {
			break
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
