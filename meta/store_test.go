package meta

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t testing.TB, s *Store, bucket, key string, data []byte, o PublishOptions) *Version {
	t.Helper()
	w, err := s.NewWriter(bucket, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	v, err := w.Publish(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readAll(t testing.TB, s *Store, v *Version) []byte {
	t.Helper()
	r, err := s.NewReader(v)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, r.Size())
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b
}

func TestSmokeVersionsAndLocks(t *testing.T) {
	s := openTest(t)
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	v1 := put(t, s, "bkt", "x/a.txt", []byte("hello"), PublishOptions{})
	big := bytes.Repeat([]byte("0123456789abcdef"), 200000) // 3.2 MB
	v2 := put(t, s, "bkt", "x/a.txt", big, PublishOptions{})
	if got := readAll(t, s, v1); string(got) != "hello" {
		t.Fatalf("v1 = %q", got)
	}
	if got := readAll(t, s, v2); !bytes.Equal(got, big) {
		t.Fatal("v2 differs")
	}
	cur, err := s.Get("bkt", "x/a.txt", "")
	if err != nil || cur.ID != v2.ID {
		t.Fatalf("current = %v, %v", cur, err)
	}
	// copy-on-write append
	w, _ := s.NewWriter("bkt", "x/a.txt", cur)
	w.WriteAt([]byte("TAIL"), cur.Size)
	v3, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, v3); !bytes.Equal(got, append(append([]byte{}, big...), "TAIL"...)) {
		t.Fatal("v3 differs")
	}
	// listing
	res, err := s.List("bkt", ListOptions{Delimiter: "/"})
	if err != nil || len(res.Prefixes) != 1 || res.Prefixes[0] != "x/" {
		t.Fatalf("list = %+v %v", res, err)
	}
	// retention and delete
	until := s.Now().Add(time.Hour)
	if _, err := s.SetRetention("bkt", "x/a.txt", v1.ID, lockctl.Retention{Mode: lockctl.ModeCompliance, Until: until}, Actor{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteVersion("bkt", "x/a.txt", v1.ID, Actor{Bypass: lockctl.Bypass{Requested: true, Allowed: true}}); !errors.Is(err, lockctl.ErrProtected) {
		t.Fatalf("delete locked: %v", err)
	}
	dm, err := s.Delete("bkt", "x/a.txt", PublishOptions{})
	if err != nil || !dm.DeleteMarker {
		t.Fatal(err)
	}
	if _, err := s.Get("bkt", "x/a.txt", ""); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("get after delete: %v", err)
	}
	vs, _ := s.Versions("bkt", "x/a.txt")
	if len(vs) != 4 || !vs[0].DeleteMarker || vs[3].ID != v1.ID {
		t.Fatalf("versions = %d", len(vs))
	}
	if _, err := s.DeleteVersion("bkt", "x/a.txt", v2.ID, Actor{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteVersion("bkt", "x/a.txt", dm.ID, Actor{}); err != nil {
		t.Fatal(err)
	}
	cur, err = s.Get("bkt", "x/a.txt", "")
	if err != nil || cur.ID != v3.ID {
		t.Fatalf("undelete: %v %v", cur, err)
	}
	st, _ := s.Stats()
	t.Logf("stats %+v", st)
	if err := s.DeleteBucket("bkt", Actor{}); !errors.Is(err, ErrBucketNotEmpty) {
		t.Fatal(err)
	}
	if n, err := s.VerifyAudit(); err != nil || n == 0 {
		t.Fatal(n, err)
	}
}
