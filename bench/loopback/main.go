// Command loopback is the baseline of bench/mount.sh: go-fuse's loopback
// file system (fs.NewLoopbackRoot, the code behind go-fuse's
// example/loopback) mounted with the settings wormfs uses, so the
// comparison measures wormfs and not the mount options:
//
//   - MaxWrite 1 MiB (the example has no flag for it and uses the go-fuse
//     default of 128 KiB);
//   - no FUSE passthrough: the example hands the kernel a backing file
//     descriptor when it runs as root on a kernel with CAP_PASSTHROUGH
//     (Linux ≥ 6.9), so reads and writes never reach the daemon. Here every
//     file handle reports PassthroughFd() = false, so they do;
//   - direct mount, allow_other and default_permissions when root, entry,
//     attribute and negative timeouts 1 s, as wormfs serve.
//
// Usage: loopback [-maxwrite N] [-passthrough] MOUNTPOINT ORIGINAL
// It prints "loopback: ready" to stderr once mounted and unmounts on
// SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node whose files never use passthrough (unless
// -passthrough is given).
type node struct {
	*fs.LoopbackNode
}

var passthrough = flag.Bool("passthrough", false, "let the kernel read and write the backing files directly (FUSE passthrough)")

var (
	_ = (fs.NodeWrapChilder)((*node)(nil))
	_ = (fs.NodeOpener)((*node)(nil))
	_ = (fs.NodeCreater)((*node)(nil))
)

// WrapChild makes every new child a node too.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	if ln, ok := ops.(*fs.LoopbackNode); ok {
		return &node{ln}
	}
	return ops
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	return wrap(fh), fl, errno
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	in, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	return in, wrap(fh), fl, errno
}

// file is a loopback file that declines passthrough.
type file struct {
	*fs.LoopbackFile
}

func (f file) PassthroughFd() (int, bool) { return 0, false }

func wrap(fh fs.FileHandle) fs.FileHandle {
	if lf, ok := fh.(*fs.LoopbackFile); ok && !*passthrough {
		return file{lf}
	}
	return fh
}

func main() {
	maxWrite := flag.Int("maxwrite", 1<<20, "FUSE MaxWrite in bytes")
	debug := flag.Bool("debug", false, "log every FUSE request")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintf(os.Stderr, "usage: loopback [-maxwrite N] [-passthrough] MOUNTPOINT ORIGINAL\n")
		os.Exit(2)
	}
	mnt, orig := flag.Arg(0), flag.Arg(1)
	root, err := fs.NewLoopbackRoot(orig)
	if err != nil {
		log.Fatalf("loopback: %v", err)
	}
	ln, ok := root.(*fs.LoopbackNode)
	if !ok {
		log.Fatalf("loopback: unexpected root type %T", root)
	}
	rootNode := &node{ln}
	sec := time.Second
	asRoot := os.Geteuid() == 0
	opts := &fs.Options{
		AttrTimeout:     &sec,
		EntryTimeout:    &sec,
		NegativeTimeout: &sec,
		NullPermissions: true,
		MountOptions: fuse.MountOptions{
			AllowOther:  asRoot,
			DirectMount: asRoot,
			MaxWrite:    *maxWrite,
			FsName:      orig,
			Name:        "loopback",
			Debug:       *debug,
		},
	}
	if asRoot {
		opts.MountOptions.Options = append(opts.MountOptions.Options, "default_permissions")
	}
	server, err := fs.Mount(mnt, rootNode, opts)
	if err != nil {
		log.Fatalf("loopback: mount %s: %v", mnt, err)
	}
	fmt.Fprintf(os.Stderr, "loopback: ready mount=%s maxwrite=%d passthrough=%v\n", mnt, *maxWrite, *passthrough)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		if err := server.Unmount(); err != nil {
			log.Printf("loopback: unmount: %v", err)
		}
	}()
	server.Wait()
}
