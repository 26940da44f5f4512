package meta

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Benchmarks of the store beside raw Badger doing the same writes and
// reads with the same options (BadgerOptions), in the same run. Run them
// with bench/meta.sh, which prints the store/raw ratios. They never assert
// a time.

const benchGiB = 1 << 30

// cpuTimer reports the process CPU time (user + system, all goroutines,
// Badger's included) per operation beside the wall time: on a shared
// machine the wall time depends on what else runs, the CPU time less so.
type cpuTimer struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuTimer { return cpuTimer{cpuNow()} }

func (c cpuTimer) report(b *testing.B) {
	b.ReportMetric(float64(cpuNow()-c.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func benchChunk() []byte {
	b := make([]byte, ChunkSize)
	rand.NewChaCha8([32]byte{'b', 'e', 'n', 'c', 'h'}).Read(b)
	return b
}

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(Options{Dir: b.TempDir(), GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.CreateBucket("bench", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		b.Fatal(err)
	}
	return s
}

func rawBadger(b *testing.B) *badger.DB {
	b.Helper()
	db, err := badger.Open(BadgerOptions(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// storePut1GiB writes 1 GiB with 1 MiB writes and publishes it.
func storePut1GiB(b *testing.B, s *Store, key string, chunk []byte) *Version {
	return writeObject(b, s, "bench", key, benchGiB, chunk)
}

// writeObject writes size bytes (chunk again and again) and publishes them.
func writeObject(tb testing.TB, s *Store, bucket, key string, size int64, chunk []byte) *Version {
	tb.Helper()
	w, err := s.NewWriter(bucket, key, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for off := int64(0); off < size; off += int64(len(chunk)) {
		if _, err := w.WriteAt(chunk, off); err != nil {
			tb.Fatal(err)
		}
	}
	v, err := w.Publish(PublishOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// rawPut1GiB is the same with raw Badger: 1024 transactions each setting
// a 1 MiB value, then one small metadata transaction. With hashed, it also
// computes what the store must compute and raw Badger does not: the MD5
// of the content (the S3 ETag) and a CRC32C per chunk (checked by fsck).
func rawPut1GiB(b *testing.B, db *badger.DB, key string, chunk []byte, hashed bool) {
	h := md5.New()
	for i := 0; i < benchGiB/ChunkSize; i++ {
		if hashed {
			h.Write(chunk)
			crc32.Checksum(chunk, castagnoli)
		}
		k := []byte(fmt.Sprintf("%s/%08d", key, i))
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set(k, chunk) }); err != nil {
			b.Fatal(err)
		}
	}
	meta := []byte(`{"key":"` + key + `","size":1073741824,"etag":"` + hex.EncodeToString(h.Sum(nil)) + `"}`)
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("meta/"+key), meta) }); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPublish1GiB(b *testing.B) {
	chunk := benchChunk()
	b.Run("store", func(b *testing.B) {
		s := benchStore(b)
		b.SetBytes(benchGiB)
		b.ResetTimer()
		cpu := startCPU()
		for i := 0; i < b.N; i++ {
			storePut1GiB(b, s, fmt.Sprintf("obj-%d", i), chunk)
		}
		cpu.report(b)
	})
	for _, hashed := range []bool{false, true} {
		name := "raw"
		if hashed {
			name = "raw-md5"
		}
		b.Run(name, func(b *testing.B) {
			db := rawBadger(b)
			b.SetBytes(benchGiB)
			b.ResetTimer()
			cpu := startCPU()
			for i := 0; i < b.N; i++ {
				rawPut1GiB(b, db, fmt.Sprintf("obj-%d", i), chunk, hashed)
			}
			cpu.report(b)
		})
	}
}

func BenchmarkRead1GiB(b *testing.B) {
	chunk := benchChunk()
	b.Run("store", func(b *testing.B) {
		s := benchStore(b)
		v := storePut1GiB(b, s, "obj", chunk)
		buf := make([]byte, ChunkSize)
		b.SetBytes(benchGiB)
		b.ResetTimer()
		cpu := startCPU()
		defer cpu.report(b)
		for i := 0; i < b.N; i++ {
			r, err := s.NewReader(v)
			if err != nil {
				b.Fatal(err)
			}
			for off := int64(0); off < benchGiB; off += ChunkSize {
				if n, err := r.ReadAt(buf, off); n != len(buf) || err != nil {
					b.Fatal(n, err)
				}
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		db := rawBadger(b)
		rawPut1GiB(b, db, "obj", chunk, false)
		buf := make([]byte, ChunkSize)
		b.SetBytes(benchGiB)
		b.ResetTimer()
		cpu := startCPU()
		defer cpu.report(b)
		for i := 0; i < b.N; i++ {
			for c := 0; c < benchGiB/ChunkSize; c++ {
				k := []byte(fmt.Sprintf("obj/%08d", c))
				err := db.View(func(txn *badger.Txn) error {
					item, err := txn.Get(k)
					if err != nil {
						return err
					}
					return item.Value(func(v []byte) error { copy(buf, v); return nil })
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// listBench is a bucket of 100,000 current objects in which dir/ has 100
// children: 50 objects and 50 subdirectories holding 2,000 objects each.
func listBench(b *testing.B) *Store {
	b.Helper()
	s := benchStore(b)
	put := func(key string) {
		w, err := s.NewWriter("bench", key, nil)
		if err != nil {
			b.Fatal(err)
		}
		w.MarkDirty()
		if _, err := w.Publish(PublishOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		put(fmt.Sprintf("dir/file-%02d", i))
		for j := 0; j < 1999; j++ {
			put(fmt.Sprintf("dir/sub-%02d/f-%04d", i, j))
		}
	}
	for i := 0; i < 50; i++ { // the remaining keys outside dir/
		put(fmt.Sprintf("other/%02d", i))
	}
	return s
}

func BenchmarkListDelimiter(b *testing.B) {
	s := listBench(b)
	b.Run("delimiter", func(b *testing.B) {
		var scanned int
		for i := 0; i < b.N; i++ {
			res, err := s.List("bench", ListOptions{Prefix: "dir/", Delimiter: "/"})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Objects) != 50 || len(res.Prefixes) != 50 || res.Truncated {
				b.Fatalf("listing: %d objects, %d prefixes, truncated %v", len(res.Objects), len(res.Prefixes), res.Truncated)
			}
			scanned = res.Scanned
		}
		b.ReportMetric(float64(scanned), "keys-scanned/op")
	})
	b.Run("full-scan", func(b *testing.B) {
		// the contrast: the same directory without the delimiter seek
		var scanned int
		for i := 0; i < b.N; i++ {
			res, err := s.List("bench", ListOptions{Prefix: "dir/", Max: 200000})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Objects) != 100000 {
				b.Fatalf("full scan listed %d objects", len(res.Objects))
			}
			scanned = res.Scanned
		}
		b.ReportMetric(float64(scanned), "keys-scanned/op")
	})
	b.Run("raw-key-scan", func(b *testing.B) {
		// raw Badger iterating the same index keys, keys only
		prefix := keyBucketCurrent("bench")
		var scanned int
		for i := 0; i < b.N; i++ {
			scanned = 0
			err := s.DB().View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: append(prefix, "dir/"...)})
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					scanned++
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(scanned), "keys-scanned/op")
	})
}
