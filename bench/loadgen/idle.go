package main

// The idle run: -n authenticated sockets that only answer pings, held
// open until stdin closes or SIGTERM, for the memory benchmark.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func idle(host string, tokens []string, conc int, label string) {
	t0 := time.Now()
	conns, nerr, last := dialAll(host, []group{{Tokens: tokens}}, conc, 2048)
	took := time.Since(t0)
	var dead atomic.Int64
	var closing atomic.Bool
	var lastErr atomic.Value
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c *conn) {
			defer wg.Done()
			for {
				err := c.fill()
				var gone bool
				c.parse(func(op byte, p []byte, n int) {
					switch {
					case op == opPing:
						c.queueOp(opPong, p)
					case op == opClose:
						gone = true
					case op != opText:
					case len(p) == 1 && p[0] == '2':
						c.queue([]byte("3"))
					case bytes.HasPrefix(p, pfxDisconnect):
						gone = true
					default:
						atomic.AddInt64(&c.other, 1)
					}
				})
				if err == nil {
					err = c.flushNet()
				}
				if err != nil || gone {
					if !closing.Load() {
						dead.Add(1)
						lastErr.Store(fmt.Sprint("closed: ", err))
					}
					c.nc.Close()
					return
				}
			}
		}(c)
	}
	runtime.GC()
	fmt.Printf("READY label=%s connected=%d failed=%d seconds=%.1f", label,
		len(conns), nerr, took.Seconds())
	if nerr > 0 {
		fmt.Printf(" last_error=%s", strconv.Quote(last))
	}
	fmt.Println()

	// Hold until stdin closes or we are told to stop.
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sig:
	}
	closing.Store(true)
	alive := len(conns) - int(dead.Load())
	var other int64
	for _, c := range conns {
		other += atomic.LoadInt64(&c.other)
		c.nc.Close()
	}
	wg.Wait()
	fmt.Printf("RESULT label=%s connected=%d failed=%d alive_at_end=%d other=%d",
		label, len(conns), nerr, alive, other)
	if v, ok := lastErr.Load().(string); ok {
		fmt.Printf(" last_error=%s", strconv.Quote(v))
	}
	fmt.Println()
}
