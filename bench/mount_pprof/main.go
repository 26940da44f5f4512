// Command mount_pprof mounts a wormfs store exactly as "wormfs serve" does
// (same meta.Options and fs.Options, no S3 listener) and serves
// net/http/pprof on a loopback address, so bench/mount.sh's workloads can
// be profiled: CPU, heap, block and mutex profiles and execution traces.
//
//	go build -o /tmp/mount_pprof ./bench/mount_pprof
//	/tmp/mount_pprof -data D -mount M -pprof 127.0.0.1:6060 &
//	go tool pprof -top http://127.0.0.1:6060/debug/pprof/profile?seconds=20
//
// It prints "wormfs: ready" to stderr once mounted and unmounts on
// SIGINT/SIGTERM.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	wfs "github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
)

func main() {
	data := flag.String("data", "", "data directory of the store")
	mnt := flag.String("mount", "", "mount point")
	addr := flag.String("pprof", "127.0.0.1:6060", "pprof listen address (loopback)")
	syncAlways := flag.Bool("sync-always", false, "as wormfs serve --sync=always")
	rate := flag.Int("block-rate", 0, "runtime.SetBlockProfileRate and SetMutexProfileFraction (0: off)")
	flag.Parse()
	if *data == "" || *mnt == "" {
		fmt.Fprintln(os.Stderr, "usage: mount_pprof -data DIR -mount DIR [-pprof ADDR] [-block-rate N]")
		os.Exit(2)
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("mount_pprof: -pprof must be a loopback address, not %q", *addr)
	}
	if *rate > 0 {
		runtime.SetBlockProfileRate(*rate)
		runtime.SetMutexProfileFraction(*rate)
	}
	logger := log.New(os.Stderr, "wormfs: ", log.LstdFlags)
	store, err := meta.Open(meta.Options{Dir: *data, SyncWrites: *syncAlways, MaxRetention: lockctl.DefaultMaxRetention, Logger: logger})
	if err != nil {
		log.Fatalf("mount_pprof: open store: %v", err)
	}
	defer store.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("mount_pprof: %v", err)
	}
	go http.Serve(ln, nil)
	m, err := wfs.Mount(store, *mnt, wfs.Options{BypassGID: -1, Timeout: time.Second, AllowOther: os.Geteuid() == 0, Logger: logger})
	if err != nil {
		log.Fatalf("mount_pprof: mount: %v", err)
	}
	fmt.Fprintf(os.Stderr, "wormfs: ready mount=%s pprof=http://%s/debug/pprof/\n", *mnt, ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { m.Wait(); close(done) }()
	select {
	case <-sig:
	case <-done:
	}
	if err := m.Unmount(); err != nil {
		logger.Printf("unmount: %v", err)
	}
}
