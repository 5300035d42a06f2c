// Command loadgen is the load client of lnk-chat's benchmarks. It speaks
// Engine.IO v4 / Socket.IO v5 over websocket directly (no polling, no
// socket.io-client), so that one core of Go can drive a server that
// delivers millions of frames per second without being the bottleneck.
//
//	loadgen fanout -url http://127.0.0.1:PORT -seed seed.json -set room|pairs
//	loadgen idle   -url http://127.0.0.1:PORT -seed seed.json -n 10000
//	loadgen messages -row group|pairs|rest|pages|connect ... (messages.go)
//
// fanout: every socket of the set sends `typing_start {conversationId}`
// with an ack id, keeping -window events in flight (the next one goes out
// when the ack comes back), and every `user_typing` frame received by any
// socket is a delivery. It prints deliveries per second over the measured
// window, events acked per second, ack latency, and this process's own CPU
// time (getrusage) so a reader can see whether the client saturated.
//
// idle: connects and authenticates -n sockets, prints "READY", answers
// pings until stdin closes (or SIGTERM), then prints how many survived.
//
// The last line of each run is "RESULT key=value ..." for scripts.
//
// The websocket framing (RFC 6455, client side) is done here rather than
// with a library: one read() takes every frame the kernel has queued for
// a socket and only the first bytes of each payload are looked at, and
// everything a batch of frames calls for (next events, pongs) goes out in
// one write(). That keeps the cost per delivery to a few tens of ns.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"
)

// seedFile is what bench/lib/seed.mjs writes.
type seedFile struct {
	Room  group    `json:"room"`
	Pairs []group  `json:"pairs"`
	Idle  []string `json:"idle"`
}

type group struct {
	ConversationID string   `json:"conversationId"`
	Tokens         []string `json:"tokens"`
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	mode := os.Args[1]
	if mode == "messages" { // bench/messages (messages.go)
		messagesMain(os.Args[2:])
		return
	}
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:3001", "server base URL")
	seedPath := fs.String("seed", "", "seed JSON written by bench/lib/seed.mjs")
	set := fs.String("set", "room", "fanout: room (one room of N) or pairs (rooms of 2)")
	windows := fs.String("window", "8", "fanout: events in flight per socket (a comma list runs each)")
	repeat := fs.Int("repeat", 1, "fanout: measured runs per window on the same sockets")
	warmup := fs.Duration("warmup", 2*time.Second, "fanout: run before measuring")
	duration := fs.Duration("duration", 10*time.Second, "fanout: measured window")
	event := fs.String("event", "typing_start", "fanout: client event to send")
	tick := fs.Duration("tick", 500*time.Microsecond, "fanout: shortest round of the event loop")
	n := fs.Int("n", 10000, "idle: sockets to open")
	conc := fs.Int("conc", 64, "concurrent handshakes")
	label := fs.String("label", "", "name printed in the RESULT line")
	rbuf := fs.Int("rbuf", 65536, "fanout: read buffer per socket")
	serverPids := fs.String("server-pids", "", "fanout: pids whose CPU time to report (server)")
	port := fs.Int("port", 0, "mock-server: port on 127.0.0.1")
	rooms := fs.String("rooms", "", "mock-server: rooms.json written by bench/lib/seed.mjs")
	join := fs.Bool("join", false, "fanout: send join_conversation on every socket before the runs")
	waitStdin := fs.Bool("wait-stdin", false, "fanout: after connecting print CONNECTED and wait for a line on stdin")
	auxPids := fs.String("aux-pids", "", "fanout: pids whose CPU time to report (Redis, database)")
	fs.Parse(os.Args[2:])

	if mode == "mock-server" {
		mockServer(*port, *rooms)
		return
	}
	if *seedPath == "" {
		fatal("-seed is required")
	}
	var seed seedFile
	raw, err := os.ReadFile(*seedPath)
	if err != nil {
		fatal("%v", err)
	}
	if err := json.Unmarshal(raw, &seed); err != nil {
		fatal("%s: %v", *seedPath, err)
	}
	u, err := url.Parse(*base)
	if err != nil || u.Host == "" {
		fatal("bad -url %q", *base)
	}

	switch mode {
	case "fanout":
		o := fanoutOpts{host: u.Host, set: *set, event: *event,
			label: *label, windows: parseInts(*windows), repeat: *repeat,
			conc: *conc, rbuf: *rbuf,
			warmup: *warmup, duration: *duration, tick: *tick,
			serverPids: parseInts(*serverPids), auxPids: parseInts(*auxPids),
			join: *join, waitStdin: *waitStdin}
		switch *set {
		case "room":
			o.groups = []group{seed.Room}
		case "pairs":
			o.groups = seed.Pairs
		default:
			fatal("-set must be room or pairs")
		}
		fanout(o)
	case "idle":
		if len(seed.Idle) < *n {
			fatal("seed has %d idle tokens, want %d", len(seed.Idle), *n)
		}
		idle(u.Host, seed.Idle[:*n], *conc, *label)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen fanout|idle -url URL -seed FILE [flags]\n"+
		"       loadgen mock-server -port N -rooms FILE\n"+
		"       loadgen messages -row ROW -url URL -spec FILE [flags]")
	os.Exit(2)
}

func fatal(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+f+"\n", a...)
	os.Exit(1)
}
