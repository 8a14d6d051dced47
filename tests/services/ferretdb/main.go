// Command ferretdb-sqlite runs an embedded FerretDB v1 with the SQLite backend on a
// loopback TCP address, for the Philos test suite only.
//
// It prints "READY mongodb://HOST:PORT/" on stdout once the listener accepts
// connections, and exits on SIGTERM/SIGINT or when its standard input is closed
// (so it never outlives the Python process that started it).
//
// Compared with the ferretdb command: the embeddable package keeps its process state in
// memory (no state dir), disables and locks telemetry itself, and starts no debug HTTP
// listener, so none of --state-dir, --telemetry or --debug-addr is needed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP listen address")
	dir := flag.String("sqlite-dir", "", "directory for the SQLite databases (required)")
	level := flag.String("log-level", "info", "log level: debug, info, warn, error")
	watchStdin := flag.Bool("watch-stdin", true, "exit when standard input is closed")
	flag.Parse()

	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ferretdb-sqlite: -sqlite-dir is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-sqlite:", err)
		os.Exit(1)
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-sqlite:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dir + "/",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-sqlite:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			logger.Error("run failed", "error", err)
		}
	}()

	// The listener binds inside Run; wait until it accepts a TCP connection.
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", *listen, 200*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			break
		}
		select {
		case <-done:
			fmt.Fprintln(os.Stderr, "ferretdb-sqlite: stopped before listening")
			os.Exit(1)
		default:
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "ferretdb-sqlite: listener did not come up:", err)
			os.Exit(1)
		}
		time.Sleep(50 * time.Millisecond)
	}

	fmt.Printf("READY %s\n", f.MongoDBURI())

	<-done
	logger.Info("stopped")
}
