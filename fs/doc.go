// Package fs is the mount of wormfs: a go-fuse v2 file system over the
// versioned store (meta) in which nothing written is ever overwritten.
//
// # Namespace
//
// The mount root lists the buckets (or, with Options.Bucket, is one
// bucket). A file at b/x/y.txt is object key x/y.txt of bucket b.
// Directories are implicit (any key under x/) or explicit (mkdir writes the
// zero-byte marker object x/). When an object a and keys under a/ both
// exist (possible over S3), the directory shadows the file; the object
// stays reachable over S3. Names beginning with .wormfs are reserved at the
// mount root for the versions and at views.
//
// # Writing makes versions
//
// Every file node has at most one meta.Writer, shared by all its open
// handles, started copy-on-write from the current version at the first
// change, so appending costs the appended bytes and a 10 GiB file needs a
// few chunk buffers of memory, never the whole file. Data is staged into
// the store as it arrives and becomes visible only when published:
//
//   - a flush (each close) publishes when data was written since the last
//     publish, and nothing otherwise: shells flush a duplicated descriptor
//     before they write, and the kernel sends FLUSH before RELEASE, which
//     is asynchronous, so publishing waits for no RELEASE;
//   - fsync publishes every unpublished change and syncs the store;
//   - a create or an O_TRUNC that no write followed is published at the
//     last close of the file's writing handles (RELEASE), so `touch f` and
//     `: > f` make a 0-byte version, while `echo b > f` makes one version
//     holding "b";
//   - truncate(2) without a handle publishes at once.
//
// The mount negotiates CAP_ATOMIC_O_TRUNC, so O_TRUNC arrives with the
// OPEN rather than as a SETATTR without a handle. The kernel writeback
// cache stays off.
//
// chmod, chown and utimes change the current version in place (no new
// version); while the file has unpublished changes they are kept for the
// version those changes will make (cp -a sets times before it closes).
// unlink writes a delete marker, rename is meta.Rename (directories key by
// key; across buckets EXDEV, so mv copies), symlink publishes an object
// marked as a link, and link, mknod, mkfifo and sockets are EPERM.
//
// # Identity
//
// An inode number is a hash of the node's kind, bucket and key: the same on
// every lookup and every mount. A node that was unlinked or renamed away
// keeps serving its open handles; its name gets a new generation so that a
// new file under the old name is a new node.
//
// # Coherence
//
// Entry, attribute and negative timeouts are Options.Timeout (1 s).
// Getattr rereads the current version; the kernel drops cached pages when
// size or mtime change (CAP_AUTO_INVAL_DATA) and no open keeps the page
// cache (no FOPEN_KEEP_CACHE), and when Getattr sees a version it did not
// know for a file whose pages may be cached, it also sends an inode
// invalidation, from a goroutine and never while holding a node lock.
//
// # Locks as extended attributes
//
// user.s3.retention, user.s3.legalhold, user.s3.version-id and
// user.s3.lockstatus expose Object Lock (SPEC §5) through the xattr
// codecs; the rules themselves run in lockctl inside the store transaction.
// A governance bypass needs a bypass-capable caller (root or a member of
// Options.BypassGID, read from /proc/<pid>/status) and an explicit request
// (a value ending in " bypass", or removexattr). Retention and legal hold
// may be set by root, bypass-capable callers and the file's owner. Other
// user.* attributes are user metadata of the version and survive new
// versions. security.*, system.* and trusted.* are ENODATA on read (the
// kernel asks security.capability before writes) and ENOTSUP on write, so
// cp -a and ACL tools fall back quietly, all without touching the store.
//
// # Errors
//
// FUSE methods return syscall.Errno only; toErrno maps the sentinel errors
// of meta, lockctl and xattr with errors.Is, and logs anything it does not
// know before answering EIO.
package fs
