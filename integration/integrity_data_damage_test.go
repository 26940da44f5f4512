package integration

// Issue 14 item 9: reads check chunk checksums. Bytes flipped in a stored
// chunk are EIO in the mount and 500 InternalError over S3 (counted),
// never the bytes with success; missing chunk data is an error status, not
// 200 headers and a dropped connection; Scrub and `wormfs scrub` find the
// damage. Fails on the code before the fix: the flipped bytes were served
// (mount read and GET 200 with the original ETag), the missing chunk gave
// 200 and a cut body, and there was no scrub.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/meta"
)

// dataKeys lists the chunk data keys ('D' chunk(8), meta/keys.go) of the
// store.
func dataKeys(t *testing.T, st *meta.Store) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := st.DB().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{'D'}, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			out[string(it.Item().KeyCopy(nil))] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// newKeys returns the keys of after not in before, in key order.
func newKeys(before, after map[string]bool) []string {
	var out []string
	for k := range after {
		if !before[k] {
			out = append(out, k)
		}
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// damage changes a chunk's stored bytes (nil: deletes them) through Badger.
func damage(t *testing.T, st *meta.Store, key string, fn func([]byte) []byte) {
	t.Helper()
	err := st.DB().Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key))
		if err != nil {
			return err
		}
		b, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if nb := fn(b); nb != nil {
			return txn.Set([]byte(key), nb)
		}
		return txn.Delete([]byte(key))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDataDamagedChunks(t *testing.T) {
	e := testHistory(t, nil)
	e.mkbucket("dmg")
	flipped, missing := dataRand(3<<20, 7), dataRand(2<<20+100, 8)
	k0 := dataKeys(t, e.store)
	if err := os.WriteFile(e.p("dmg", "flipped.bin"), flipped, 0o644); err != nil {
		t.Fatal(err)
	}
	k1 := dataKeys(t, e.store)
	if err := os.WriteFile(e.p("dmg", "missing.bin"), missing, 0o644); err != nil {
		t.Fatal(err)
	}
	k2 := dataKeys(t, e.store)
	fk, mk := newKeys(k0, k1), newKeys(k1, k2)
	if len(fk) != 3 || len(mk) != 3 {
		t.Fatalf("chunks: %d for 3 MiB, %d for 2 MiB + 100", len(fk), len(mk))
	}
	damage(t, e.store, fk[0], func(b []byte) []byte { b[1000] ^= 0x01; return b })
	damage(t, e.store, mk[1], func([]byte) []byte { return nil })
	// Unmount and mount again so the kernel's page cache holds nothing.
	if err := e.m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e.remount()
	n0 := e.store.DamagedReads()

	// The mount: EIO for the damaged block, intact chunks still read.
	if _, err := os.ReadFile(e.p("dmg", "flipped.bin")); !errors.Is(err, syscall.EIO) {
		t.Errorf("reading a file with flipped bytes: %v, want EIO", err)
	}
	f, err := os.Open(e.p("dmg", "flipped.bin"))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4096)
	if _, err := f.ReadAt(b, 2<<20); err != nil || !bytes.Equal(b, flipped[2<<20:2<<20+4096]) {
		t.Errorf("reading an intact chunk of the damaged file: %v", err)
	}
	f.Close()
	if _, err := os.ReadFile(e.p("dmg", "missing.bin")); !errors.Is(err, syscall.EIO) {
		t.Errorf("reading a file whose chunk data is missing: %v, want EIO", err)
	}

	// S3: 500 InternalError, status and code, before any byte; a range
	// over intact chunks is served.
	ctx := t.Context()
	for _, key := range []string{"flipped.bin", "missing.bin"} {
		out, err := e.s3.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dmg"), Key: aws.String(key)})
		if err == nil {
			body, rerr := io.ReadAll(out.Body)
			out.Body.Close()
			t.Fatalf("GET %s: success with %d bytes (%v), want 500 InternalError", key, len(body), rerr)
		}
		wantErr(t, err, http.StatusInternalServerError, "InternalError")
	}
	out, err := e.s3.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dmg"), Key: aws.String("flipped.bin"), Range: aws.String("bytes=1048576-2097151")})
	must(t, err, "GET of an intact range")
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, flipped[1<<20:2<<20]) {
		t.Errorf("GET of an intact range: %v, %d bytes", err, len(got))
	}
	// A range starting in an intact chunk and running into the missing one:
	// still an error status (every chunk is checked before the headers).
	_, err = e.s3.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dmg"), Key: aws.String("missing.bin"), Range: aws.String("bytes=0-2097151")})
	wantErr(t, err, http.StatusInternalServerError, "InternalError")
	if got := e.store.DamagedReads() - n0; got < 5 {
		t.Errorf("damaged reads counted: %d, want at least 5", got)
	}

	// Damage past the first chunk is found mid-body: the connection is cut,
	// the client never gets the whole body with success.
	late := dataRand(3<<20, 10)
	k3 := dataKeys(t, e.store)
	if err := os.WriteFile(e.p("dmg", "late.bin"), late, 0o644); err != nil {
		t.Fatal(err)
	}
	lk := newKeys(k3, dataKeys(t, e.store))
	damage(t, e.store, lk[2], func(b []byte) []byte { b[5] ^= 0x10; return b })
	out, err = e.s3.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dmg"), Key: aws.String("late.bin")})
	if err == nil {
		body, rerr := io.ReadAll(out.Body)
		out.Body.Close()
		if rerr == nil {
			t.Fatalf("GET with damage in the third chunk: %d bytes and success, want a cut connection", len(body))
		}
		if len(body) > 2<<20 || !bytes.Equal(body, late[:len(body)]) {
			t.Errorf("GET with damage in the third chunk sent %d bytes, not a prefix of the first two chunks", len(body))
		}
	}

	// Scrub on the open store finds all three.
	bad, err := e.store.Scrub(context.Background(), nil)
	if err != nil || len(bad) != 3 {
		t.Fatalf("Scrub: %v, %v; want 3 damaged chunks", bad, err)
	}
}

// TestDataScrubCommand: `wormfs scrub --data DIR` on a stopped store
// prints progress, exits 0 when every chunk is intact and 4 (listing the
// damaged chunk and the version that uses it) when one is not.
func TestDataScrubCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st, err := meta.Open(meta.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateBucket("scrub", meta.BucketOptions{Versioning: meta.VersioningEnabled}, meta.Actor{}); err != nil {
		t.Fatal(err)
	}
	w, err := st.NewWriter("scrub", "obj", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAt(dataRand(2<<20, 9), 0)
	if _, err := w.Publish(meta.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	keys := newKeys(nil, dataKeys(t, st))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	out, code := runWormfs(t, "scrub", "--data", dir)
	if code != 0 || !strings.Contains(out, "checked") || !strings.Contains(out, "no damage") {
		t.Fatalf("scrub of an intact store: exit %d\n%s", code, out)
	}
	st, err = meta.Open(meta.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	damage(t, st, keys[1], func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b })
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	out, code = runWormfs(t, "scrub", "--data", dir)
	if code != 4 || !strings.Contains(out, "damaged: chunk") || !strings.Contains(out, "used by scrub/obj version") {
		t.Fatalf("scrub of a damaged store: exit %d, want 4\n%s", code, out)
	}
	out, code = runWormfs(t, "fsck", "--data", dir)
	if code != 4 || !strings.Contains(out, "chunk damaged") {
		t.Errorf("fsck of a damaged store: exit %d, want 4\n%s", code, out)
	}
}
