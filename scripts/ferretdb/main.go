// Command ferretdb runs FerretDB v1.24.2 (PostgreSQL backend) for development and tests.
//
// `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds a binary that
// panics at start-up ("Invalid build/version/version.txt"): the module zip lacks the
// version file its release builds generate. The embeddable package has no such check,
// so this wrapper runs the same server through it.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:5432/ferretdb")
	level := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	flag.Parse()

	if *pgURL == "" {
		log.Fatal("ferretdb: -postgresql-url is required")
	}
	u, err := url.Parse(*pgURL)
	if err != nil {
		log.Fatalf("ferretdb: bad -postgresql-url: %v", err)
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		log.Fatalf("ferretdb: bad -log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	// FerretDB v1.24 allocates heavily (every document is decoded from
	// its JSON form): collecting at 4x the live heap instead of 2x costs
	// some memory and saves about a fifth of the CPU per query.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Handler:       "postgresql",
		PostgreSQLURL: *pgURL,
		Logger:        logger,
	})
	if err != nil {
		log.Fatalf("ferretdb: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Warn("ferretdb listening", "addr", *listen, "postgresql", u.Redacted())
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatalf("ferretdb: %v", err)
	}
}
