package main

// The REST rows of loadgen messages.
//
//	rest:  -clients goroutines, each POSTing into its own conversation
//	       (one request in flight each, keep-alive, one connection each),
//	       -warmup then -duration measured; a send counts when it is 201.
//	pages: sequential GETs of the big conversation after -page-warmup
//	       unmeasured ones, -samples each (or what -max-time allows, at
//	       least 3):
//	       newest page (?limit=50), -deep-pages back by cursor
//	       (?beforeSeq=<seq - 50 * pages>&limit=50), the same 25 later
//	       (across two buckets: what an unaligned cursor costs), the afterSeq
//	       catch-up of 50 (?afterSeq=<seq - 50>&limit=50). Timed: request
//	       written to body read. Each page's seqs are checked afterwards
//	       (outside the timing); a wrong page counts as an error.

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

func httpClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 300 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     5 * time.Minute,
		},
	}
}

func restRow(o *msgOpts) {
	convs := o.spec.Rest
	if len(convs) < o.clients {
		fatal("spec has %d REST conversations, want %d", len(convs), o.clients)
	}
	convs = convs[:o.clients]
	client := httpClient(o.clients)
	var rb [3]byte
	rand.Read(rb[:])
	run := fmt.Sprintf("%x", rb)
	type rec struct {
		end    int64
		lat    float64
		ok     bool
		status int
	}
	var mu sync.Mutex
	var recs []rec
	var firstErr string
	start := time.Now()
	stop := start.Add(o.warmup + o.duration)
	// CPU readings at the edges of the measured window, whatever the
	// requests do.
	var a, b cpuSnap
	measureFrom := start.Add(o.warmup)
	taken := make(chan struct{})
	go func() {
		time.Sleep(time.Until(measureFrom))
		a = takeCPU(o.roles)
		time.Sleep(time.Until(stop))
		b = takeCPU(o.roles)
		close(taken)
	}()
	var wg sync.WaitGroup
	for ci, c := range convs {
		wg.Add(1)
		go func(ci int, c msgConv) {
			defer wg.Done()
			url := o.base + "/api/conversations/" + c.ConversationID + "/messages"
			var mine []rec
			for n := 0; time.Now().Before(stop); n++ {
				body := fmt.Sprintf(`{"content":"r%s %d.%d the quick brown fox jumps over the lazy dog","type":"text","clientMessageId":"r%s-%d-%d"}`,
					run, ci, n, run, ci, n)
				req, _ := http.NewRequest("POST", url, bytes.NewBufferString(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+c.Token)
				t := time.Now()
				res, err := client.Do(req)
				var msg []byte
				status := 0
				if err == nil {
					msg, err = io.ReadAll(res.Body)
					res.Body.Close()
					status = res.StatusCode
				}
				e := time.Now()
				r := rec{end: e.UnixNano(), lat: float64(e.Sub(t)) / 1e6,
					ok: err == nil && status == 201, status: status}
				mine = append(mine, r)
				if !r.ok {
					mu.Lock()
					if firstErr == "" {
						if err != nil {
							firstErr = err.Error()
						} else {
							firstErr = fmt.Sprintf("%d %.200s", status, msg)
						}
					}
					mu.Unlock()
					if err != nil {
						time.Sleep(10 * time.Millisecond)
					}
				}
			}
			mu.Lock()
			recs = append(recs, mine...)
			mu.Unlock()
		}(ci, c)
	}
	wg.Wait()
	<-taken
	// The window: from the end of the warm-up to the moment the first
	// client stopped sending (stop); requests still running after it
	// finish late and are left out.
	from, to := measureFrom.UnixNano(), stop.UnixNano()
	var lat []float64
	var okN, errN int
	for _, r := range recs {
		if r.end < from || r.end >= to {
			continue
		}
		if r.ok {
			okN++
			lat = append(lat, r.lat)
		} else {
			errN++
		}
	}
	secs := float64(to-from) / 1e9
	cpu := cpuPct(o.roles, a, b)
	p50, p99 := p50p99(lat)
	rate := float64(okN) / secs
	fmt.Printf("  %-5s rest   %d clients, one conversation each: %7.0f sends/s  p50 %.1f ms  p99 %.1f ms  errors %d  %s\n",
		o.label, o.clients, rate, p50, p99, errN, cpuText(cpu))
	if firstErr != "" {
		fmt.Printf("        first error: %s\n", firstErr)
	}
	emit(o, "rest_send", map[string]any{"per_s": rate, "p50_ms": p50,
		"p99_ms": p99, "errors": errN, "ok": okN, "clients": o.clients,
		"seconds": secs, "first_error": firstErr}, cpu)
}

type pageCase struct {
	row, what string
	query     string
	from, to  int64 // expected seqs
}

func pageRows(o *msgOpts) {
	big := o.spec.Big
	top := big.Seq
	deep := int64(o.deepPages)
	if m := (top - 51) / 50; deep > m { // the page must start at seq >= 1
		deep = m
	}
	before := top - deep*50
	cases := []pageCase{
		{"page_newest", "newest page", "limit=50", top - 49, top},
		{"page_deep", fmt.Sprintf("%d pages back (beforeSeq=%d)", deep, before),
			fmt.Sprintf("beforeSeq=%d&limit=50", before), before - 50, before - 1},
		// The pages above start on a bucket boundary (store/messages.h:
		// 50 a bucket, and the dataset's sizes are round): this one
		// straddles two buckets, the most a page of 50 decodes.
		{"page_straddle", fmt.Sprintf("%d pages back, across 2 buckets", deep),
			fmt.Sprintf("beforeSeq=%d&limit=50", before+25), before - 25, before + 24},
		{"page_after", fmt.Sprintf("afterSeq=%d catch-up", top-50),
			fmt.Sprintf("afterSeq=%d&limit=50", top-50), top - 49, top},
	}
	client := httpClient(1)
	for _, pc := range cases {
		url := o.base + "/api/conversations/" + big.ConversationID + "/messages?" + pc.query
		get := func() (float64, []byte, int, error) {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+big.Token)
			t := time.Now()
			res, err := client.Do(req)
			if err != nil {
				return 0, nil, 0, err
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			return float64(time.Since(t)) / 1e6, body, res.StatusCode, err
		}
		for i := 0; i < o.pageWarmup; i++ {
			get()
		}
		var lat []float64
		var nerr int
		var firstErr string
		a := takeCPU(o.roles)
		deadline := a.t.Add(o.maxTime)
		for len(lat)+nerr < o.samples && (time.Now().Before(deadline) || len(lat)+nerr < 3) {
			d, body, status, err := get()
			if err == nil && status != 200 {
				err = fmt.Errorf("%d %.200s", status, body)
			}
			if err == nil {
				err = checkPage(body, pc.from, pc.to)
			}
			if err != nil {
				nerr++
				if firstErr == "" {
					firstErr = err.Error()
				}
				continue
			}
			lat = append(lat, d)
		}
		b := takeCPU(o.roles)
		cpu := cpuPct(o.roles, a, b)
		p50, p99 := p50p99(lat)
		fmt.Printf("  %-5s GET %-34s %4d samples  p50 %8.1f ms  p99 %8.1f ms  errors %d  %s\n",
			o.label, pc.what, len(lat), p50, p99, nerr, cpuText(cpu))
		if firstErr != "" {
			fmt.Printf("        first error: %s\n", firstErr)
		}
		emit(o, pc.row, map[string]any{"p50_ms": p50, "p99_ms": p99,
			"samples": len(lat), "errors": nerr, "query": pc.query,
			"first_error": firstErr, "pages_back": deep}, cpu)
	}
}

// checkPage: the page holds exactly the seqs from..to (any order).
func checkPage(body []byte, from, to int64) error {
	var page struct {
		Messages []struct {
			Seq int64 `json:"seq"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return fmt.Errorf("page: %v", err)
	}
	seqs := make([]int64, 0, len(page.Messages))
	for _, m := range page.Messages {
		seqs = append(seqs, m.Seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	ok := int64(len(seqs)) == to-from+1
	for i := 0; ok && i < len(seqs); i++ {
		ok = seqs[i] == from+int64(i)
	}
	if !ok {
		if len(seqs) == 0 {
			return fmt.Errorf("empty page, want seq %d..%d", from, to)
		}
		return fmt.Errorf("page holds %d messages, seq %d..%d; want %d..%d",
			len(seqs), seqs[0], seqs[len(seqs)-1], from, to)
	}
	return nil
}
