package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	wfs "github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/s3"
)

// credentialsConfig is the store config entry that holds the generated root
// credentials.
const credentialsConfig = "credentials"

type credentials struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

func dataFlag() cli.Flag {
	return &cli.StringFlag{Name: "data", Usage: "data directory of the embedded store", EnvVars: []string{"WORMFS_DATA"}, Value: "./wormfs-data"}
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "open the store, mount it with FUSE and serve the S3 API",
		Flags: append([]cli.Flag{
			dataFlag(),
			&cli.StringFlag{Name: "mount", Usage: "mount point (no mount when empty)", EnvVars: []string{"WORMFS_MOUNT"}},
			&cli.StringFlag{Name: "s3", Usage: "S3 listen address (\"\" disables the listener)", EnvVars: []string{"WORMFS_S3"}, Value: "127.0.0.1:9000"},
			&cli.StringFlag{Name: "access-key", Usage: "root access key (default: generated at the first start that succeeds, and stored)", EnvVars: []string{"WORMFS_ACCESS_KEY"}},
			&cli.StringFlag{Name: "secret-key", Usage: "root secret key (on the command line it shows in ps: prefer --secret-key-file or the environment)", EnvVars: []string{"WORMFS_SECRET_KEY"}},
			&cli.StringFlag{Name: "access-key-file", Usage: "file holding the root access key (first line)", EnvVars: []string{"WORMFS_ACCESS_KEY_FILE"}},
			&cli.StringFlag{Name: "secret-key-file", Usage: "file holding the root secret key (first line)", EnvVars: []string{"WORMFS_SECRET_KEY_FILE"}},
			&cli.BoolFlag{Name: "accept-clock", Usage: "start even though the persisted compliance clock is ahead of the system clock beyond the catch-up bound, or behind the newest audit record (audited)", EnvVars: []string{"WORMFS_ACCEPT_CLOCK"}},
			&cli.StringFlag{Name: "users", Usage: "JSON file of additional S3 users and their grants", EnvVars: []string{"WORMFS_USERS"}},
			&cli.StringFlag{Name: "bucket", Usage: "mount only this bucket at the mount root", EnvVars: []string{"WORMFS_BUCKET"}},
			&cli.StringFlag{Name: "sync", Usage: "durability: posix (commits on disk at fsync, S3 PUT and within 1 s) or always (every commit on disk before success)", EnvVars: []string{"WORMFS_SYNC"}, Value: "posix"},
			&cli.StringFlag{Name: "tls-cert", Usage: "TLS certificate file for the S3 listener", EnvVars: []string{"WORMFS_TLS_CERT"}},
			&cli.StringFlag{Name: "tls-key", Usage: "TLS key file for the S3 listener", EnvVars: []string{"WORMFS_TLS_KEY"}},
			&cli.StringFlag{Name: "region", Usage: "region reported by GetBucketLocation", EnvVars: []string{"WORMFS_REGION"}, Value: "us-east-1"},
			&cli.IntFlag{Name: "max-retention-days", Usage: "longest retention accepted", EnvVars: []string{"WORMFS_MAX_RETENTION_DAYS"}, Value: int(lockctl.DefaultMaxRetention / (24 * time.Hour))},
			&cli.StringFlag{Name: "min-free", Usage: "free space kept in reserve in the data directory's file system; writes fail (ENOSPC, S3 507) below it; 0 disables", EnvVars: []string{"WORMFS_MIN_FREE"}, Value: "256MiB"},
			&cli.DurationFlag{Name: "attr-timeout", Usage: "how long the kernel caches attributes and names (changes over S3 show in the mount within this)", EnvVars: []string{"WORMFS_ATTR_TIMEOUT"}, Value: time.Second},
			&cli.BoolFlag{Name: "debug", Usage: "log every FUSE request", EnvVars: []string{"WORMFS_DEBUG"}},
		}, controlFlags()...), // --admin-gid, --bypass-gid, --control: control.go
		Action: serve,
	}
}

// maxRetentionDays is the largest --max-retention-days: the longest span a
// time.Duration holds (about 292 years; more would overflow to a negative
// or wrapped maximum).
const maxRetentionDays = int(math.MaxInt64 / int64(24*time.Hour))

// maxGID is the largest group id a --bypass-gid may name: gid_t is 32
// bits and 4294967295 is (gid_t)-1, "no group".
const maxGID = math.MaxUint32 - 1

func serve(c *cli.Context) error {
	logger := log.New(os.Stderr, "wormfs: ", log.LstdFlags)
	syncMode := c.String("sync")
	if g := c.Int("bypass-gid"); g < -1 || g > maxGID {
		return exitf(2, "--bypass-gid must be a group id between 0 and %d, or -1 (root only), not %d", maxGID, g)
	}
	if syncMode != "posix" && syncMode != "always" {
		return exitf(2, "--sync must be posix or always, not %q", syncMode)
	}
	if (c.String("tls-cert") == "") != (c.String("tls-key") == "") {
		return exitf(2, "--tls-cert and --tls-key go together")
	}
	if d := c.Int("max-retention-days"); d <= 0 || d > maxRetentionDays {
		return exitf(2, "--max-retention-days must be between 1 and %d (%d years)", maxRetentionDays, maxRetentionDays/365)
	}
	if c.Duration("attr-timeout") <= 0 || c.Duration("attr-timeout") > time.Second {
		return exitf(2, "--attr-timeout must be between 1ns and 1s (SPEC: S3 changes show in the mount within 1 s)")
	}
	minFree, err := parseSize(c.String("min-free"))
	if err != nil {
		return exitf(2, "--min-free: %v", err)
	}
	if minFree == 0 {
		minFree = -1 // meta: < 0 disables the check
	}
	adminGid, err := adminGID(c)
	if err != nil {
		return exitf(2, "%v", err)
	}
	mountDir, addr := c.String("mount"), c.String("s3")
	if mountDir == "" && addr == "" {
		return exitf(2, "nothing to serve: both --mount and --s3 are empty")
	}
	var users []s3.User
	if f := c.String("users"); f != "" {
		var err error
		if users, err = s3.LoadUsers(f); err != nil {
			return exitf(2, "--users: %v", err)
		}
	}

	access, secret, err := keyFlags(c, logger)
	if err != nil {
		return err
	}

	// Every file the store creates from here on is 0600 (SPEC §1).
	meta.RestrictUmask()
	if err := meta.CheckDataDir(c.String("data")); err != nil {
		return exitf(2, "%v", err)
	}
	store, err := meta.Open(meta.Options{
		Dir:          c.String("data"),
		SyncWrites:   syncMode == "always",
		MaxRetention: time.Duration(c.Int("max-retention-days")) * 24 * time.Hour,
		MinFree:      minFree,
		AcceptClock:  c.Bool("accept-clock"),
		Logger:       logger,
	})
	if errors.Is(err, meta.ErrLocked) {
		return exitf(3, "%v: stop the other wormfs first (one process per data directory)", err)
	}
	if errors.Is(err, meta.ErrClock) || errors.Is(err, meta.ErrNotWholeStore) {
		return exitf(6, "refusing to start: %v", err)
	}
	if err != nil {
		return exitf(1, "open store: %v", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			logger.Printf("closing the store: %v", err)
		}
	}()
	if n := store.Reclaimed(); n > 0 {
		logger.Printf("reclaimed %d staged chunks of versions that were never committed", n)
	}
	logger.Printf("compliance clock %s (system clock is %s ahead of it)", store.Now().Format(time.RFC3339), store.ClockOffset().Round(time.Millisecond))
	if seq, hash, err := store.AuditHead(); err != nil {
		return exitf(1, "audit head: %v", err)
	} else if seq > 0 {
		logger.Printf("audit head %d:%s (keep it elsewhere; `wormfs audit verify --expect %d:%s` checks the log still holds it)", seq, hash, seq, hash)
	} else {
		logger.Printf("audit head 0 (empty audit log)")
	}

	creds, generated, err := rootCredentials(store, access, secret, logger)
	if err != nil {
		return exitf(2, "%v", err)
	}

	var srv *http.Server
	srvDone := make(chan error, 1)
	if addr != "" {
		handler, err := s3.New(store, s3.Options{AccessKey: creds.AccessKey, SecretKey: creds.SecretKey, Users: users, Region: c.String("region"), Logger: logger})
		if err != nil {
			return exitf(1, "s3 listener: %v", err)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return exitf(1, "s3 listener: %v", err)
		}
		addr = ln.Addr().String()
		srv = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          logger,
			MaxHeaderBytes:    64 << 10,
		}
		ln = idleListener{Listener: ln, idle: time.Minute}
		if cert := c.String("tls-cert"); cert != "" {
			pair, err := tls.LoadX509KeyPair(cert, c.String("tls-key"))
			if err != nil {
				ln.Close()
				return exitf(2, "TLS: %v", err)
			}
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
		}
		go func() { srvDone <- srv.Serve(ln) }()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				logger.Printf("stopping the S3 listener: %v", err)
				srv.Close()
			}
		}()
	}

	mountGone := make(chan struct{})
	if mountDir != "" {
		m, err := wfs.Mount(store, mountDir, wfs.Options{
			Bucket:     c.String("bucket"),
			BypassGID:  adminGid,
			Timeout:    c.Duration("attr-timeout"),
			AllowOther: os.Geteuid() == 0,
			Debug:      c.Bool("debug"),
			Logger:     logger,
		})
		if err != nil {
			return exitf(1, "mount %s: %v", mountDir, err)
		}
		go func() { m.Wait(); close(mountGone) }()
		defer func() {
			if err := m.Unmount(); err != nil {
				logger.Printf("unmounting %s: %v", mountDir, err)
			}
		}()
		stopControl, err := startControl(c, m, mountDir, logger)
		if err != nil {
			return exitf(1, "%v", err)
		}
		defer stopControl()
	}

	// SIGUSR1 logs one line of runtime figures (kill -USR1 PID): what
	// /proc does not show of a Go process, for operators and the soak test.
	// Installed before the ready line: unhandled, SIGUSR1 would kill.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer func() { signal.Stop(usr1); close(usr1) }()
	go func() {
		for range usr1 {
			logger.Printf("%s damaged-reads=%d", runtimeStats(), store.DamagedReads())
		}
	}()

	// Generated credentials are stored and shown only now that the start
	// has succeeded: a start that fails leaves nothing behind.
	if generated {
		if err := storeCredentials(store, creds); err != nil {
			return exitf(1, "%v", err)
		}
		logger.Printf("generated S3 root credentials (shown once; `wormfs credentials show` prints them again with the daemon stopped): access key %s secret key %s", creds.AccessKey, creds.SecretKey)
	}

	ready := []string{"ready"}
	if mountDir != "" {
		ready = append(ready, "mount="+mountDir)
	}
	if addr != "" {
		scheme := "http"
		if c.String("tls-cert") != "" {
			scheme = "https"
		}
		ready = append(ready, "s3="+scheme+"://"+addr)
	}
	fmt.Fprintln(os.Stderr, "wormfs: "+strings.Join(ready, " "))

	select {
	case <-c.Context.Done():
		logger.Printf("shutting down")
		return nil
	case <-mountGone:
		logger.Printf("%s was unmounted from outside; shutting down", mountDir)
		return nil
	case err := <-srvDone:
		return exitf(1, "s3 listener stopped: %v", err)
	}
}

// runtimeStats is the line SIGUSR1 logs: goroutines and Go heap figures.
func runtimeStats() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("stats goroutines=%d heap-inuse-mib=%d heap-sys-mib=%d gc-cycles=%d",
		runtime.NumGoroutine(), ms.HeapInuse>>20, ms.HeapSys>>20, ms.NumGC)
}

// rootCredentials returns the root pair: the flags when given (both or
// neither), else the pair stored at first start, else a new random pair
// (generated true) that the caller stores and logs once the start has
// succeeded.
func rootCredentials(store *meta.Store, access, secret string, logger *log.Logger) (creds credentials, generated bool, err error) {
	if (access == "") != (secret == "") {
		return credentials{}, false, errors.New("--access-key and --secret-key go together")
	}
	if access != "" {
		if len(access) < 3 || len(secret) < 8 {
			return credentials{}, false, errors.New("--access-key needs at least 3 characters and --secret-key at least 8")
		}
		return credentials{AccessKey: access, SecretKey: secret}, false, nil
	}
	cr, err := storedCredentials(store)
	if err == nil {
		logger.Printf("S3 root access key %s (generated at first start; secret in the store, `wormfs credentials show` prints it)", cr.AccessKey)
		return cr, false, nil
	}
	if !errors.Is(err, meta.ErrNoSuchKey) {
		return credentials{}, false, err
	}
	return newCredentials(), true, nil
}

// storedCredentials reads the generated pair from the store (ErrNoSuchKey
// when none was ever stored).
func storedCredentials(store *meta.Store) (credentials, error) {
	b, err := store.GetConfig(credentialsConfig)
	if err != nil {
		return credentials{}, err
	}
	var cr credentials
	if err := json.Unmarshal(b, &cr); err != nil || cr.AccessKey == "" || cr.SecretKey == "" {
		return credentials{}, fmt.Errorf("stored credentials are unreadable: %v", err)
	}
	return cr, nil
}

func storeCredentials(store *meta.Store, cr credentials) error {
	b, _ := json.Marshal(cr)
	if err := store.PutConfig(credentialsConfig, b); err != nil {
		return fmt.Errorf("storing generated credentials: %w", err)
	}
	return nil
}

func newCredentials() credentials {
	return credentials{AccessKey: "WORM" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), SecretKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
}

// keyFlags reads the root pair from --access-key/--secret-key (or their
// environment variables) or from --access-key-file/--secret-key-file, and
// warns when the secret was given as a command-line argument, where every
// local user sees it in ps.
func keyFlags(c *cli.Context, logger *log.Logger) (access, secret string, err error) {
	access, secret = c.String("access-key"), c.String("secret-key")
	for _, f := range []struct {
		name string
		into *string
	}{{"access-key-file", &access}, {"secret-key-file", &secret}} {
		p := c.String(f.name)
		if p == "" {
			continue
		}
		if *f.into != "" {
			return "", "", exitf(2, "--%s and --%s are exclusive", strings.TrimSuffix(f.name, "-file"), f.name)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", "", exitf(2, "--%s: %v", f.name, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if *f.into = strings.TrimSpace(line); *f.into == "" {
			return "", "", exitf(2, "--%s: %s is empty", f.name, p)
		}
	}
	if (access == "") != (secret == "") {
		return "", "", exitf(2, "--access-key and --secret-key go together")
	}
	if access != "" && (len(access) < 3 || len(secret) < 8) {
		return "", "", exitf(2, "--access-key needs at least 3 characters and --secret-key at least 8")
	}
	if secret != "" && c.String("secret-key-file") == "" && secretOnCommandLine() {
		logger.Printf("warning: --secret-key was given on the command line, where every local user can read it (ps, /proc/PID/cmdline); use --secret-key-file or WORMFS_SECRET_KEY")
	}
	return access, secret, nil
}

// secretOnCommandLine reports whether --secret-key came from the command
// line rather than from WORMFS_SECRET_KEY (urfave/cli reports both as set).
func secretOnCommandLine() bool {
	for _, a := range os.Args[1:] {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "secret-key" {
			return true
		}
	}
	return false
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// idleListener gives every connection a rolling read deadline, so a client
// that stops sending (a Content-Length it never delivers) is cut off after
// idle instead of holding a goroutine forever.
type idleListener struct {
	net.Listener
	idle time.Duration
}

func (l idleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &idleConn{Conn: c, idle: l.idle}, nil
}

type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// parseSize reads a byte count: a number with an optional unit B, KiB,
// MiB, GiB, TiB (or K, M, G, T, the same binary units).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 256MiB, 1GiB, 0)", s)
	}
	return n * mult, nil
}
