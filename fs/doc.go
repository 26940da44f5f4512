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
// An explicit directory's mode, owner and times are those of its marker
// object; a bucket directory's are kept in a store configuration record
// (dirattr.go), so that cp -a, rsync -a and tar x into a bucket can set
// them; an implicit directory shows 0755 root, a chmod or chown on it
// writes its marker, and times alone are accepted and not kept.
//
// # Writing makes versions
//
// Every descriptor sees the bytes written so far, as on a local file
// system, while a published version is always one writer's whole content
// (SPEC §3):
//
//   - a handle opened with O_TRUNC (shell redirection, cp, rsync's and
//     tar's O_TRUNC creates) gets its own meta.Writer, starting empty, that
//     no other writer disturbs; its flush publishes its content as one
//     version. Two such writers of one file never mix in a version: each
//     publish is one whole version, the last publish is the current one;
//   - the other write handles (read-modify-write, O_APPEND appenders, dd
//     conv=notrunc, a create without O_TRUNC, git, SQLite) share the
//     node's one meta.Writer, started copy-on-write from the current
//     version at the first change, so several appenders interleave whole
//     appends as POSIX does and appending costs the appended bytes;
//   - a handle opened read-only reads the live content: the unpublished
//     content of the writer changed last (liveContentLocked, what stat
//     shows), else the newest version this node published, else the
//     version current when it was opened. A version committed over S3
//     after the live content began replaces the file, as a rename over it
//     would: a handle opened after it reads it (handle.fixed), handles
//     opened before keep what they read;
//   - read-only handles that use the page cache have the written ranges
//     invalidated (NotifyContent, asynchronously) as writes arrive.
//
// Publications of one key are ordered: a truncate whose handle was closed
// but not yet released is published before any later write opens the file
// (publishTruncatesLocked), and unlink writes its delete marker and ends
// the node under the node's lock (deleteKey), so no late RELEASE brings an
// unlinked file back.
//
// A 10 GiB file needs a few chunk buffers of memory per writer, never the
// whole file. Data is staged into the store as it arrives and becomes
// visible only when published:
//
//   - a flush (each close) publishes the handle's writer when data was
//     written into it since its last publish, and nothing otherwise:
//     shells flush a duplicated descriptor before they write, and the
//     kernel sends FLUSH before RELEASE, which is asynchronous, so
//     publishing waits for no RELEASE;
//   - fsync publishes every unpublished change of the handle's writer and
//     syncs the store;
//   - an O_TRUNC (or ftruncate) of a private handle that no write followed
//     is published at its RELEASE; a create of a shared writer that no
//     write followed at the last close of the file's writing handles. So
//     `touch f` and `: > f` make a 0-byte version, while `echo b > f`
//     makes one version holding "b";
//   - truncate(2) without a handle publishes at once (from the shared
//     writer, or the current version);
//   - a rename publishes every writer's unpublished changes first; a
//     private writer then goes on from the current version of the new
//     name.
//
// Attributes while writing: the size and mtime shown are those of the
// newest change, the committed version or the most recently written
// private writer (so `ls -l` during a cp grows) or the shared writer.
// While read-only handles that use the page cache are open on an older,
// larger version, the size shown does not go below theirs, because the
// kernel cuts page-cache reads at the size it was last told.
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
// keeps serving its open handles (and a renamed one its inode number); its
// old name gets a new generation, and with it a new inode number (the hash
// salted with the generation), so that a new file under the old name is a
// new node that tar, cp -a and rsync -H do not take for a hard link of the
// renamed one. Names never retired in this mount keep the plain hash. go-fuse
// gives the live node of a number to whoever asks for the number, so a
// number is owned by its name while its node lives, and a name whose hash
// collides with a live node of another name (by chance, or made to) gets
// the hash salted instead of the other file's node.
//
// # Coherence
//
// Entry, attribute and negative timeouts are Options.Timeout (1 s).
// Getattr rereads the current version; the kernel drops cached pages when
// size or mtime change (CAP_AUTO_INVAL_DATA). Since different handles of
// one inode may see different contents, the kernel page cache (one per
// inode) is used only where it cannot mix them; every other handle is
// opened with FOPEN_DIRECT_IO (CAP_DIRECT_IO_ALLOW_MMAP keeps mmap
// working on those):
//
//   - a write handle uses the page cache only when it shares the node's
//     writer and is the only handle open;
//   - a read-only handle uses it only while no write handle is open, its
//     version has been the current one for at least the attribute timeout
//     and is the size the kernel was last shown, and every other
//     page-cached handle open reads that same version. So sequential
//     reads of an undisturbed file go through the page cache as before,
//     and a file being written or just changed is read directly.
//
// A page-cached open keeps the cache (FOPEN_KEEP_CACHE) only when it finds
// the very version the previous page-cached open found, with no writer in
// between; any other open makes the kernel drop it. When Getattr sees a
// version it did not know for a file whose pages may be cached, it also
// sends an inode invalidation, from a goroutine and never while holding a
// node lock.
//
// # Locks as extended attributes
//
// user.s3.retention, user.s3.legalhold, user.s3.version-id and
// user.s3.lockstatus expose Object Lock (SPEC §5) through the xattr
// codecs; the rules themselves run in lockctl inside the store transaction.
// Who may do what is lockctl.Authority, checked by the store in the
// transaction of the change: whoever may write the file (its mode bits,
// as the kernel's default_permissions check) may set or extend retention
// and place a legal hold; lifting a hold, any governance bypass and a
// bucket's default rule need a lock administrator (root or a member of
// Options.BypassGID, the --admin-gid group, read from /proc/<pid>/status).
// A bypass is always explicit: a value ending in " bypass" by an
// administrator; removexattr and unlink never bypass. A lock set while the
// file has unpublished writes is kept in fileNode.carry and given to the
// version those writes publish (PublishOptions.Carry). chmod, chown,
// utimes and user.* changes of a protected current version publish a new
// version sharing its chunks (Store.UpdateAttrs); the protected one never
// changes. The control socket of the daemon reaches the same rules through
// the Mounted lock methods (control.go), for administrators acting on
// files they may not write. Other user.* attributes are user metadata of the version and survive new
// versions. security.*, system.* and trusted.* are ENODATA on read (the
// kernel asks security.capability before writes) and ENOTSUP on write, so
// cp -a and ACL tools fall back quietly, all without touching the store.
//
// # Errors
//
// FUSE methods return syscall.Errno only; toErrno maps the sentinel errors
// of meta, lockctl and xattr with errors.Is, and logs anything it does not
// know before answering EIO.
//
// # History views
//
// .wormfs at the mount root is reachable by name and never listed (so find
// and rm -r never enter it); other names beginning with .wormfs are
// ENOENT. With Options.Bucket the views keep the bucket name in their
// paths and show only that bucket. Everything in them is read-only (EROFS)
// except the lock attributes of a version and the permanent delete:
//
//   - .wormfs/versions/<bucket>/<key>/ lists every version and delete
//     marker of key, newest first (the order of Store.Versions and of
//     ListObjectVersions), each a file named by its S3 version id, holding
//     that version's exact bytes (a delete marker is empty and has
//     user.s3.delete-marker = "true"). Its user.s3.* attributes are the
//     version's own and are set under the rules of the main tree; other
//     user.* attributes are shown read-only. Key components are
//     directories listing the keys below that have any history, deleted
//     ones included; a version id shadows a key component of the same
//     name. Directory markers and keys with empty components are not
//     shown. A symlink's versions are plain files holding the target.
//   - unlink of a version file is Store.DeleteVersion: EPERM while the
//     version is protected. It is allowed to root, to lock administrators
//     and to the version's owner (a delete marker's owner is the user who
//     made it, so users can undo their own deletes). It is never a
//     governance bypass, root's included: `wormfs rm-version --bypass`
//     over the control socket is the explicit request. Removing a delete
//     marker brings the key back; the main tree's kernel entries are
//     invalidated at once. Key directories are 0777 so
//     that the kernel lets such an unlink reach the daemon, which decides.
//   - rename in the versions view is EPERM when the source or the target
//     is a protected version, EROFS otherwise; a rename from the main tree
//     into the view is EXDEV (and mv's copy fallback gets EROFS).
//   - .wormfs/at/<instant>/<bucket>/… is the tree as it was at an RFC 3339
//     instant (fractional seconds, offsets and lower-case t/z allowed;
//     anything else, a space for the T included, is ENOENT): for each key the newest version created at or before the
//     instant (Version.Created, compliance time), unless it is a delete
//     marker (Store.GetAsOf, Store.ListAsOf), with the attributes those
//     versions have now. Buckets created after the instant are absent;
//     versions permanently deleted since are gone from history. An
//     instant in the future follows the tree (within the entry timeout)
//     until it is reached: a file's inode names its version.
//   - both views show a key's history only to whoever may read the key as
//     the main tree has it now (access.go): every directory searchable and
//     the file readable, for a deleted key its directory; each version
//     keeps its own mode as well.
//   - .wormfs/audit is the audit log, one JSON record a line as `wormfs
//     audit` prints it, readable by root and lock administrators only; each open reads the log as it is then (direct I/O,
//     so the growing file is never cut at an old size). The daemon keeps
//     the rendering in memory and extends it with new records.
package fs
