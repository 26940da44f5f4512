package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/urfave/cli/v2"
	wfs "github.com/wormfs/wormfs/fs"
	"golang.org/x/sys/unix"
)

// The control socket: a Unix socket of the daemon that takes small JSON
// requests, one line each, and answers one JSON line each. The caller is
// known from the socket's peer credentials (SO_PEERCRED: uid, gid, pid;
// SO_PEERGROUPS, or /proc/<pid>/status: the supplementary groups), never
// from anything the request says, and every request is decided by the
// same rules as the mount (fs.Mounted's lock methods). The socket is 0666:
// who may do what is decided per request.
//
// It exists because the kernel refuses a user.* setxattr to anyone who may
// not write the file, so a lock administrator could not place a hold on
// somebody else's read-only file through the mount (SPEC §4).
//
// Request:  {"op":"legalhold","bucket":"b","key":"k","value":"ON"}
// Response: {"ok":true,"version":"0000000000000007","value":"ON"}
// Refusal:  {"ok":false,"errno":"EPERM","error":"…"}
//
// Ops are entries of controlOps; a new one (e.g. "scrub") is one more
// entry: a function of the request and the authenticated identity.

// controlRequest is one request line. Fields an op does not use are
// ignored; Args carries an op's own parameters.
type controlRequest struct {
	Op      string          `json:"op"`
	Bucket  string          `json:"bucket,omitempty"`
	Key     string          `json:"key,omitempty"`
	Version string          `json:"version,omitempty"`
	Value   string          `json:"value,omitempty"`
	Bypass  bool            `json:"bypass,omitempty"`
	Args    json.RawMessage `json:"args,omitempty"`
}

// controlResponse is one response line.
type controlResponse struct {
	OK      bool            `json:"ok"`
	Version string          `json:"version,omitempty"`
	Value   string          `json:"value,omitempty"`
	Errno   string          `json:"errno,omitempty"`
	Error   string          `json:"error,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// controlEnv is what the ops work on.
type controlEnv struct {
	mount  *wfs.Mounted
	logger *log.Logger
}

// controlOp answers one request of an authenticated identity.
type controlOp func(ctx context.Context, env *controlEnv, id wfs.Identity, req controlRequest) controlResponse

// controlOps is the dispatch table.
var controlOps = map[string]controlOp{
	"ping": func(ctx context.Context, env *controlEnv, id wfs.Identity, req controlRequest) controlResponse {
		return controlResponse{OK: true, Value: fmt.Sprintf("uid=%d gid=%d groups=%v", id.UID, id.GID, id.Groups)}
	},
	"legalhold": func(ctx context.Context, env *controlEnv, id wfs.Identity, req controlRequest) controlResponse {
		var on bool
		switch strings.ToUpper(req.Value) {
		case "ON":
			on = true
		case "OFF":
		default:
			return refusal(&wfs.ControlError{Errno: syscall.EINVAL, Err: fmt.Errorf("legal hold is ON or OFF, not %q", req.Value)})
		}
		vid, err := env.mount.SetLegalHold(id, req.Bucket, req.Key, req.Version, on)
		if err != nil {
			return refusal(err)
		}
		return controlResponse{OK: true, Version: vid, Value: strings.ToUpper(req.Value)}
	},
	"retention": func(ctx context.Context, env *controlEnv, id wfs.Identity, req controlRequest) controlResponse {
		v := req.Value
		if req.Bypass && !strings.HasSuffix(v, " bypass") {
			v += " bypass"
		}
		vid, err := env.mount.SetRetention(id, req.Bucket, req.Key, req.Version, v)
		if err != nil {
			return refusal(err)
		}
		return controlResponse{OK: true, Version: vid}
	},
	"rm-version": func(ctx context.Context, env *controlEnv, id wfs.Identity, req controlRequest) controlResponse {
		if req.Version == "" {
			return refusal(&wfs.ControlError{Errno: syscall.EINVAL, Err: errors.New("rm-version needs a version id")})
		}
		if err := env.mount.DeleteVersion(id, req.Bucket, req.Key, req.Version, req.Bypass); err != nil {
			return refusal(err)
		}
		return controlResponse{OK: true, Version: req.Version}
	},
}

// errnoNames are the errno values a refusal names.
var errnoNames = map[syscall.Errno]string{
	syscall.EPERM: "EPERM", syscall.EACCES: "EACCES", syscall.ENOENT: "ENOENT", syscall.EINVAL: "EINVAL",
	syscall.ENODATA: "ENODATA", syscall.ENAMETOOLONG: "ENAMETOOLONG", syscall.EIO: "EIO", syscall.ENOSPC: "ENOSPC",
	syscall.EAGAIN: "EAGAIN", syscall.ESTALE: "ESTALE", syscall.EISDIR: "EISDIR",
}

func refusal(err error) controlResponse {
	r := controlResponse{Error: err.Error(), Errno: "EIO"}
	var e syscall.Errno
	if errors.As(err, &e) {
		if n, ok := errnoNames[e]; ok {
			r.Errno = n
		} else {
			r.Errno = strconv.Itoa(int(e))
		}
	}
	return r
}

func errnoOfName(name string) syscall.Errno {
	for e, n := range errnoNames {
		if n == name {
			return e
		}
	}
	if v, err := strconv.Atoi(name); err == nil {
		return syscall.Errno(v)
	}
	return syscall.EIO
}

// controlFlags are the serve flags of the lock administrators and the
// control socket.
func controlFlags() []cli.Flag {
	return []cli.Flag{
		&cli.Int64Flag{Name: "admin-gid", Usage: "the lock administrators' group: with root, its members lift legal holds, bypass GOVERNANCE, set bucket default rules and read the audit log; -1: root only", EnvVars: []string{"WORMFS_ADMIN_GID"}, Value: -1},
		&cli.Int64Flag{Name: "bypass-gid", Usage: "old name of --admin-gid", EnvVars: []string{"WORMFS_BYPASS_GID"}, Value: -1},
		&cli.StringFlag{Name: "control", Usage: "path of the control socket (default: /run/wormfs/<hash of the mount point>.sock as root, else under $XDG_RUNTIME_DIR or the temp dir; \"-\" disables it)", EnvVars: []string{"WORMFS_CONTROL"}},
	}
}

// adminGID reads --admin-gid (or its old name --bypass-gid): -1, or a gid
// that fits a uint32 and is not (uid_t)-1.
func adminGID(c *cli.Context) (int, error) {
	name := "admin-gid"
	if !c.IsSet("admin-gid") && c.IsSet("bypass-gid") {
		name = "bypass-gid"
	}
	g := c.Int64(name)
	if g < -1 || g >= 1<<32-1 {
		return 0, fmt.Errorf("--%s must be -1 (root only) or a group id from 0 to %d, not %d", name, uint32(1<<32-2), g)
	}
	if c.IsSet("admin-gid") && c.IsSet("bypass-gid") && c.Int64("admin-gid") != c.Int64("bypass-gid") {
		return 0, errors.New("--admin-gid and its old name --bypass-gid disagree; give one")
	}
	return int(g), nil
}

// defaultControlPaths are where the control socket of the mount at
// mountDir is looked for (the first is where the daemon makes it): the
// socket lives outside the 0700 data directory so that every user can
// reach it, and is named by a hash of the mount point, so the commands
// find it from any file in the mount.
func defaultControlPaths(mountDir string, euid int) []string {
	h := fnv.New64a()
	h.Write([]byte(mountDir))
	name := fmt.Sprintf("%016x.sock", h.Sum64())
	root := filepath.Join("/run/wormfs", name)
	var user []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		user = append(user, filepath.Join(d, "wormfs", name))
	}
	user = append(user, filepath.Join(os.TempDir(), "wormfs-"+strconv.Itoa(euid), name))
	if euid == 0 {
		return append([]string{root}, user...)
	}
	return append(user, root)
}

// startControl listens on the control socket of mount m (at mountDir)
// and serves it until the returned stop is called.
func startControl(c *cli.Context, m *wfs.Mounted, mountDir string, logger *log.Logger) (stop func(), err error) {
	path := c.String("control")
	if path == "-" {
		return func() {}, nil
	}
	if path == "" {
		// The default place: a failure there (a read-only /run, say) is
		// logged and the daemon runs without the socket; the lock
		// commands then fall back to the mount's attributes.
		stop, err := listenControl(m, defaultControlSocket(mountDir), logger)
		if err != nil {
			logger.Printf("no control socket: %v (lock administrators cannot reach files they may not write)", err)
			return func() {}, nil
		}
		return stop, nil
	}
	return listenControl(m, path, logger)
}

// defaultControlSocket is where the daemon of the mount at mountDir makes
// its control socket (its directory is created when missing).
func defaultControlSocket(mountDir string) string {
	if real, err := filepath.EvalSymlinks(mountDir); err == nil {
		mountDir = real
	}
	if abs, err := filepath.Abs(mountDir); err == nil {
		mountDir = abs
	}
	path := defaultControlPaths(mountDir, os.Geteuid())[0]
	perm := os.FileMode(0o700) // a user's daemon: its own mount, its own socket
	if os.Geteuid() == 0 {
		perm = 0o755 // /run/wormfs: every user reaches root's daemon
	}
	os.MkdirAll(filepath.Dir(path), perm)
	return path
}

// listenControl serves the control socket at path.
func listenControl(m *wfs.Mounted, path string, logger *log.Logger) (stop func(), err error) {
	// A socket file left by a daemon that died is removed; a live one is
	// another daemon's.
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
			conn.Close()
			return nil, fmt.Errorf("control socket %s: another daemon answers on it", path)
		}
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	env := &controlEnv{mount: m, logger: logger}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.AcceptUnix()
			if err != nil {
				if ctx.Err() == nil {
					logger.Printf("control socket: %v", err)
				}
				return
			}
			go serveControlConn(ctx, env, conn)
		}
	}()
	logger.Printf("control socket %s", path)
	return func() {
		cancel()
		ln.Close()
		<-done
	}, nil
}

// maxControlLine bounds one request line.
const maxControlLine = 64 << 10

// serveControlConn answers the requests of one connection.
func serveControlConn(ctx context.Context, env *controlEnv, conn *net.UnixConn) {
	defer conn.Close()
	id, err := peerIdentity(conn)
	if err != nil {
		env.logger.Printf("control socket: peer credentials: %v", err)
		return
	}
	rd := bufio.NewReaderSize(conn, 4096)
	enc := json.NewEncoder(conn)
	for ctx.Err() == nil {
		conn.SetDeadline(time.Now().Add(time.Minute))
		line, err := readLine(rd, maxControlLine)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) && err.Error() != "EOF" && len(line) > 0 {
				enc.Encode(refusal(&wfs.ControlError{Errno: syscall.EINVAL, Err: err}))
			}
			return
		}
		var req controlRequest
		var resp controlResponse
		if err := json.Unmarshal(line, &req); err != nil {
			resp = refusal(&wfs.ControlError{Errno: syscall.EINVAL, Err: fmt.Errorf("malformed request: %v", err)})
		} else if op, ok := controlOps[req.Op]; !ok {
			resp = refusal(&wfs.ControlError{Errno: syscall.EINVAL, Err: fmt.Errorf("unknown op %q", req.Op)})
		} else {
			resp = op(ctx, env, id, req)
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

// readLine reads one line of at most max bytes (without its newline).
func readLine(rd *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := rd.ReadLine()
		if err != nil {
			return line, err
		}
		line = append(line, chunk...)
		if len(line) > max {
			return line, fmt.Errorf("request longer than %d bytes", max)
		}
		if !isPrefix {
			return line, nil
		}
	}
}

// soPeerGroups is SO_PEERGROUPS (Linux 4.13), which x/sys does not name.
const soPeerGroups = 59

// peerIdentity reads the credentials of the connected peer.
func peerIdentity(conn *net.UnixConn) (wfs.Identity, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return wfs.Identity{}, err
	}
	var id wfs.Identity
	var cerr error
	groupsKnown := false
	err = raw.Control(func(fd uintptr) {
		cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if err != nil {
			cerr = err
			return
		}
		id = wfs.Identity{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid}
		buf := make([]uint32, 256)
		for range 3 {
			l := uint32(len(buf) * 4)
			_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, soPeerGroups, uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
			if e == unix.ERANGE {
				buf = make([]uint32, l/4+1)
				continue
			}
			if e == 0 {
				id.Groups = append([]uint32(nil), buf[:l/4]...)
				groupsKnown = true
			}
			return
		}
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return wfs.Identity{}, err
	}
	if !groupsKnown {
		if id.Groups, err = procStatusGroups(id.PID); err != nil {
			return wfs.Identity{}, fmt.Errorf("groups of pid %d: %w", id.PID, err)
		}
	}
	return id, nil
}

// procStatusGroups reads the supplementary groups of process pid.
func procStatusGroups(pid int32) ([]uint32, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			var out []uint32
			for _, w := range strings.Fields(rest) {
				if g, err := strconv.ParseUint(w, 10, 32); err == nil {
					out = append(out, uint32(g))
				}
			}
			return out, nil
		}
	}
	return nil, errors.New("no Groups line")
}

// errNoControl says the daemon's control socket is not reachable: the
// commands then fall back to the mount's extended attributes.
var errNoControl = errors.New("the daemon's control socket is not reachable")

// controlCall sends one request to the control socket of the mount at
// root (WORMFS_CONTROL or --control when given) and returns the answer;
// errNoControl when no socket answers.
func controlCall(c *cli.Context, root string, req controlRequest) (controlResponse, error) {
	paths := defaultControlPaths(root, os.Geteuid())
	if p := os.Getenv("WORMFS_CONTROL"); p != "" {
		paths = []string{p}
	}
	if c != nil && c.IsSet("control") {
		paths = []string{c.String("control")}
	}
	var conn net.Conn
	for _, p := range paths {
		var err error
		if conn, err = net.DialTimeout("unix", p, 2*time.Second); err == nil {
			break
		}
	}
	if conn == nil {
		return controlResponse{}, errNoControl
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return controlResponse{}, err
	}
	line, err := readLine(bufio.NewReader(conn), 1<<20)
	if err != nil {
		return controlResponse{}, fmt.Errorf("control socket: %w", err)
	}
	var resp controlResponse
	if err := json.Unmarshal(line, &resp); err != nil {
		return controlResponse{}, fmt.Errorf("control socket: malformed answer: %v", err)
	}
	return resp, nil
}

// controlFlag is the --control flag of the lock commands.
func controlFlag() cli.Flag {
	return &cli.StringFlag{Name: "control", Usage: "the daemon's control socket (default: found from the mount)", EnvVars: []string{"WORMFS_CONTROL"}}
}
