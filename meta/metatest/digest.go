// Package metatest holds test support shared by the tests of the packages
// above meta (s3, integration): a digest of a whole store, to check that a
// refused request changed nothing.
package metatest

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wormfs/wormfs/meta"
)

// Digest lists every bucket with its settings, every version and delete
// marker (id, size, ETag, retention, legal hold, tags, metadata), every
// multipart upload in progress, the chunk accounting and the length of the
// audit log: what "the store is unchanged" means.
func Digest(t testing.TB, st *meta.Store) string {
	t.Helper()
	var b strings.Builder
	buckets, err := st.ListBuckets()
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	for _, bk := range buckets {
		fmt.Fprintf(&b, "bucket %s versioning=%q lock=%v rule=%+v policy=%q\n", bk.Name, bk.Versioning, bk.ObjectLock, bk.Rule, bk.Policy)
		o := meta.VersionListOptions{Max: 1000}
		for {
			res, err := st.ListVersions(bk.Name, o)
			if err != nil {
				t.Fatalf("ListVersions %s: %v", bk.Name, err)
			}
			for i, v := range res.Versions {
				fmt.Fprintf(&b, "  %q id=%s latest=%v dm=%v size=%d etag=%s ret=%s/%s hold=%v/%v tags=%v meta=%v\n",
					v.Key, v.ID, res.IsLatest[i], v.DeleteMarker, v.Size, v.ETag, v.RetMode,
					v.RetUntil.UTC().Format(time.RFC3339Nano), v.HoldSet, v.LegalHold, sortedMap(v.Tags), sortedMap(v.UserMeta))
			}
			if !res.Truncated {
				break
			}
			o.KeyMarker, o.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
		}
		ups, _, err := st.ListUploads(bk.Name, "", "", "", 1000)
		if err != nil {
			t.Fatalf("ListUploads %s: %v", bk.Name, err)
		}
		for _, u := range ups {
			fmt.Fprintf(&b, "  upload %s %q\n", u.ID, u.Key)
		}
	}
	stats, err := st.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	fmt.Fprintf(&b, "chunks=%d bytes=%d refs=%d staged=%d/%d\n", stats.Chunks, stats.StoredBytes, stats.References, stats.StagedChunks, stats.StagedBytes)
	n := 0
	if err := st.Audit(0, func(meta.AuditRecord) error { n++; return nil }); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	fmt.Fprintf(&b, "audit=%d\n", n)
	return b.String()
}

// Unchanged fails unless the store's digest equals before. Data staged by
// a refused upload may take a moment to be discarded (the handler's
// deferred abort runs after the answer), so it waits up to 10 s for the
// digests to agree.
func Unchanged(t testing.TB, st *meta.Store, before string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := Digest(t, st)
		if after == before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store changed by a refused request:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sortedMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s;", k, m[k])
	}
	return b.String()
}
