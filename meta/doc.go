// Package meta is the versioned object store of wormfs, on one Badger
// database. The mount (fs) and the listener (s3) both speak to it; neither
// decides a lock question itself.
//
// # Keys
//
// The whole key schema is one table in keys.go. Buckets, versions, the
// current-object index, chunk data, chunk accounting, multipart uploads,
// the audit log and the compliance clock each have a one-byte prefix.
// Versions of a key sort newest first because their sequence number is
// stored inverted.
//
// # Versions and chunks
//
// An object's content is a list of extents, each a slice of a chunk of at
// most ChunkSize (1 MiB) bytes. Chunks are stored under their own keys and,
// because the value threshold is 4 KiB, land in Badger's value log rather
// than in the LSM tree. A version never changes content: a Writer stages
// new chunks (each in its own small transaction, marked as staged) and
// then Publish commits one small transaction that references them, stamps
// the retention and makes the version the latest. A Writer started from a
// base version shares the base's chunks and rewrites only the chunks that
// writes touch, so an append costs the appended bytes plus at most one
// chunk.
//
// Every chunk has an accounting record with a reference count: one
// reference per extent of a published version or multipart part that
// uses it. A permanent delete drops the references of the version's
// extents and deletes the data of every chunk whose count reaches zero,
// in the same transaction that removes the version.
//
// Staged chunks that were never published (a crash, an abandoned writer)
// carry a staged marker and are deleted at the next open.
//
// # Locks
//
// Every change that a lock may forbid (a permanent delete, a retention
// change, the null-version replacement in an unversioned bucket) runs the
// lockctl check inside the same Badger transaction that makes the change,
// with the compliance clock's "now". Lock-relevant changes append a record
// to the hash-chained audit log in that same transaction.
//
// # Compliance clock
//
// Store.Now is lockctl.Clock fed by the monotonic and system clocks, and
// persisted every second: it never runs backwards, across restarts too,
// and catches up with a system clock that is ahead only at a bounded rate.
//
// # Durability
//
// With Options.SyncWrites every commit is on disk before it returns.
// Otherwise Badger syncs at least every SyncInterval, and callers that
// need it on disk at once (S3 PUT, fsync) ask for it with
// PublishOptions.Sync.
//
// A commit that has returned survives a kill -9 of the process even
// without a sync: Badger writes its value log and memtable log through
// mmap, so the commit is in the kernel's page cache, never only in this
// process's memory (TestCrash kills a publishing child at random moments
// and checks every version it had published). A kill during Open can
// leave an empty value-log file that Badger refuses; Open removes such
// files first, under the directory lock.
package meta
