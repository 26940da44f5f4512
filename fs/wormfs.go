package fs

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"hash/maphash"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
)

// reservedPrefix names the entries reserved at the mount root (SPEC §2).
const reservedPrefix = ".wormfs"

// maxSymlinkTarget bounds a symlink's target (PATH_MAX - 1).
const maxSymlinkTarget = 4095

// wormFS is the state shared by every node of one mount.
type wormFS struct {
	store   *meta.Store
	opts    Options
	timeout time.Duration
	started time.Time // the time shown for directories that have no marker

	mu sync.Mutex
	// gens holds the generation of a name (by its generation-1 inode
	// number, ino) whose previous node was unlinked or renamed away, so
	// that a new file at the old name gets a fresh node instead of the
	// orphan. Absent means generation 1.
	gens map[uint64]uint64
	// base maps an inode number other than a name's generation-1 number
	// (a later generation, or a salted one) back to it, the key of gens.
	base map[uint64]uint64
	// owner tags each inode number with the name it was given to (tag: a
	// maphash seeded per mount, so no name can be made to collide with
	// another's tag), while its node lives. go-fuse hands the live node
	// of a number to whoever asks for that number, so a second name whose
	// hash gives a number already owned (a collision, by chance or by a
	// name crafted for it) must not get it: it gets the hash salted
	// instead, or it would read, write and publish as the other file.
	// OnForget gives the number back.
	owner map[uint64]uint64
	seed  maphash.Seed
	// pending holds the files created through the mount that have no
	// version yet (shown as empty until their last handle closes), by
	// pendingKey(bucket, key).
	pending map[string]*fileNode
}

func newWormFS(store *meta.Store, o Options) *wormFS {
	t := o.Timeout
	if t <= 0 {
		t = time.Second
	}
	return &wormFS{store: store, opts: o, timeout: t, started: time.Now(), gens: map[uint64]uint64{}, base: map[uint64]uint64{}, owner: map[uint64]uint64{}, seed: maphash.MakeSeed(), pending: map[string]*fileNode{}}
}

func pendingKey(bucket, key string) string { return bucket + "\x00" + key }

// Node kinds, hashed into the inode number.
const (
	kindFile   = 'f'
	kindDir    = 'd'
	kindBucket = 'b'
)

// ino is the stable inode number of a name: a hash of its kind, bucket and
// key, the same on every lookup and every mount. 0 and 1 (the root) are
// never returned. (A variable so that a test can make two names collide.)
var ino = fnvIno

func fnvIno(kind byte, bucket, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte{kind})
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	n := h.Sum64()
	if n <= 1 {
		n += 2
	}
	return n
}

// inoFor is the inode number of generation g of a name. Generation 1 (a
// name never unlinked or renamed away in this mount) is ino, the same on
// every mount; a later one is ino of the key salted with g (keys hold no
// NUL). A node renamed away keeps its number, so without the salt it and
// the new file at its old name would show one st_ino, which tar, cp -a
// and rsync -H take for a hard link.
func inoFor(kind byte, bucket, key string, g uint64) uint64 {
	if g <= 1 {
		return ino(kind, bucket, key)
	}
	return ino(kind, bucket, key+"\x00"+strconv.FormatUint(g, 10))
}

// tag is the owner tag of (kind, bucket, key).
func (f *wormFS) tag(kind byte, bucket, key string) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteByte(kind)
	h.WriteString(bucket)
	h.WriteByte(0)
	h.WriteString(key)
	return h.Sum64()
}

// numberLocked returns the name's generation-1 number b, its generation
// g and its inode number n in that generation: inoFor, salted further
// while another name owns it.
func (f *wormFS) numberLocked(kind byte, bucket, key string) (b, g, n, tag uint64) {
	b = ino(kind, bucket, key)
	g, ok := f.gens[b]
	if !ok {
		g = 1
	}
	tag = f.tag(kind, bucket, key)
	n = inoFor(kind, bucket, key, g)
	for salt := 1; ; salt++ {
		if t, ok := f.owner[n]; !ok || t == tag {
			return b, g, n, tag
		}
		n = ino(kind, bucket, key+"\x00"+strconv.FormatUint(g, 10)+"\x00"+strconv.Itoa(salt))
	}
}

// ident returns the StableAttr of a node for (kind, bucket, key), and
// makes its number the name's (see owner).
func (f *wormFS) ident(kind byte, mode uint32, bucket, key string) gofs.StableAttr {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, g, n, tag := f.numberLocked(kind, bucket, key)
	f.owner[n] = tag
	if n != b {
		f.base[n] = b
	}
	return gofs.StableAttr{Mode: mode, Ino: n, Gen: g}
}

// inoOf is the inode number a lookup of (kind, bucket, key) gives now,
// for directory entries.
func (f *wormFS) inoOf(kind byte, bucket, key string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, _, n, _ := f.numberLocked(kind, bucket, key)
	return n
}

// release gives back the inode number of a node the kernel forgot.
func (f *wormFS) release(n uint64) {
	f.mu.Lock()
	delete(f.owner, n)
	delete(f.base, n)
	f.mu.Unlock()
}

// retire gives the name of a node that was unlinked or renamed away a new
// generation: the next lookup of the name makes a new node, with a new
// inode number.
func (f *wormFS) retire(id gofs.StableAttr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := id.Ino
	if n, ok := f.base[id.Ino]; ok {
		b = n
	}
	if f.gens[b] <= id.Gen {
		f.gens[b] = id.Gen + 1
	}
}

func (f *wormFS) addPending(n *fileNode, bucket, key string) {
	f.mu.Lock()
	f.pending[pendingKey(bucket, key)] = n
	f.mu.Unlock()
}

func (f *wormFS) dropPending(n *fileNode, bucket, key string) {
	f.mu.Lock()
	if f.pending[pendingKey(bucket, key)] == n {
		delete(f.pending, pendingKey(bucket, key))
	}
	f.mu.Unlock()
}

func (f *wormFS) getPending(bucket, key string) *fileNode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending[pendingKey(bucket, key)]
}

// pendingUnder returns the pending files of bucket whose key starts with
// prefix, with their keys.
func (f *wormFS) pendingUnder(bucket, prefix string) map[string]*fileNode {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]*fileNode{}
	for k, n := range f.pending {
		b, key, _ := strings.Cut(k, "\x00")
		if b == bucket && strings.HasPrefix(key, prefix) {
			out[key] = n
		}
	}
	return out
}

// caller is who sent a request: a FUSE request's uid, gid and pid, or a
// control-socket peer (whose supplementary groups are known).
type caller struct {
	uid, gid uint32
	pid      uint32
	groups   []uint32 // supplementary groups when known
	known    bool     // groups holds them (else read from /proc/<pid>/status)
	control  bool     // a request on the control socket
}

func callerOf(ctx context.Context) caller {
	if c, ok := fuse.FromContext(ctx); ok {
		return caller{uid: c.Uid, gid: c.Gid, pid: c.Pid}
	}
	return caller{}
}

// inGroup reports whether g is the caller's primary or a supplementary
// group.
func (c *caller) inGroup(g uint32) bool {
	if c.gid == g {
		return true
	}
	if !c.known {
		c.groups, _ = procGroups(c.pid)
		c.known = true
	}
	for _, x := range c.groups {
		if x == g {
			return true
		}
	}
	return false
}

// permits reports whether the caller has the access want (a mask of 4
// read, 2 write, 1 search) to an object of mode perm owned by uid:gid, as
// the kernel's default_permissions check decides it: root may do anything
// (it holds CAP_DAC_OVERRIDE), others get the owner's, the group's or
// everyone's bits.
func (c *caller) permits(perm, uid, gid, want uint32) bool {
	if c.uid == 0 {
		return true
	}
	var bits uint32
	switch {
	case c.uid == uid:
		bits = perm >> 6 & 7
	case c.inGroup(gid):
		bits = perm >> 3 & 7
	default:
		bits = perm & 7
	}
	return bits&want == want
}

// isAdmin reports whether the caller is a lock administrator: root or a
// member of Options.BypassGID (the --admin-gid group; primary or
// supplementary group, read from /proc/<pid>/status for FUSE requests).
func (f *wormFS) isAdmin(c caller) bool {
	if c.uid == 0 {
		return true
	}
	if f.opts.BypassGID < 0 || int64(f.opts.BypassGID) >= 1<<32-1 {
		return false
	}
	return c.inGroup(uint32(f.opts.BypassGID))
}

// authority is what c may do to the locks of version v under the default
// rules (SPEC §4): write v (its own mode) or administer locks.
func (f *wormFS) authority(c caller, v *meta.Version) lockctl.Authority {
	return lockctl.Authority{Writer: v != nil && c.permits(v.Mode, v.UID, v.GID, 2), Admin: f.isAdmin(c)}
}

// lockActor is the actor of a lock change by c on v: the lock rules of
// lockctl check its rights in the store's transaction. requested is an
// explicit governance bypass request (a value ending in " bypass", or the
// wormfs command that asks for one); only an administrator's takes effect.
func (f *wormFS) lockActor(c caller, v *meta.Version, requested bool) meta.Actor {
	a := f.authority(c, v)
	act := f.actor(c, false)
	act.Bypass = lockctl.Bypass{Requested: requested, Allowed: requested && a.MayBypass()}
	act.Rights = &a
	return act
}

// procGroups reads the supplementary groups of process pid.
func procGroups(pid uint32) ([]uint32, error) {
	if pid == 0 {
		return nil, syscall.ESRCH
	}
	fh, err := os.Open("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/status")
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var out []uint32
		for _, w := range strings.Fields(rest) {
			g, err := strconv.ParseUint(w, 10, 32)
			if err == nil {
				out = append(out, uint32(g))
			}
		}
		return out, nil
	}
	return nil, sc.Err()
}

// actor is the store's view of a caller, for the audit log. requested is
// an explicit governance bypass request, effective only for an
// administrator.
func (f *wormFS) actor(c caller, requested bool) meta.Actor {
	name := fmt.Sprintf("mount uid=%d gid=%d pid=%d", c.uid, c.gid, c.pid)
	if c.control {
		name = fmt.Sprintf("control uid=%d gid=%d pid=%d", c.uid, c.gid, c.pid)
	}
	return meta.Actor{
		Name:   name,
		Bypass: lockctl.Bypass{Requested: requested, Allowed: requested && f.isAdmin(c)},
	}
}

// setTimes fills the time fields of a fuse.Attr.
func setTimes(a *fuse.Attr, mtime, ctime time.Time) {
	a.SetTimes(&mtime, &mtime, &ctime)
}

// blockSize is the st_blksize reported: the largest write the kernel sends.
const blockSize = 1 << 20

// OnForget gives the node's inode number back (see wormFS.owner).
func (n *fileNode) OnForget() { n.fsys.release(n.StableAttr().Ino) }

// OnForget gives the node's inode number back (see wormFS.owner).
func (n *dirNode) OnForget() { n.fsys.release(n.StableAttr().Ino) }
