package integration

// Issue 14 item 8: one `truncate -s 1P f` by any writer killed the daemon
// (one extent per MiB of hole, then an MD5 over the zeros). Sizes and write
// offsets are capped at 5 TiB (EFBIG) and a hole costs no memory or
// hashing in proportion to its length. Fails on the code before the fix:
// the 1 PiB truncate is accepted (and exhausts memory), the 4 TiB one
// hashes 4 TiB of zeros at publish and never finishes in the test's time.

import (
	"bufio"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// vmRSS is the resident set of this process (the daemon: the mount is
// served in-process), in bytes.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func TestDataHugeSizes(t *testing.T) {
	e := testHistory(t, nil)
	e.mkbucket("huge")
	small := e.p("huge", "small.txt")
	if err := os.WriteFile(small, []byte("small\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// truncate -s 1P: EFBIG, nothing changes, the daemon goes on serving.
	out, err := e.sh("truncate -s 1P " + small)
	if err == nil || !strings.Contains(out, "too large") {
		t.Fatalf("truncate -s 1P: %v %q, want EFBIG (File too large)", err, out)
	}
	if err := os.Truncate(small, 1<<50); !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("truncate(2) to 1 PiB: %v, want EFBIG", err)
	}
	f, err := os.OpenFile(small, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 50); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("ftruncate to 1 PiB: %v, want EFBIG", err)
	}
	if _, err := f.WriteAt([]byte("x"), 5<<40); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("pwrite at 5 TiB: %v, want EFBIG", err)
	}
	if _, err := f.WriteAt([]byte("x"), 1<<50); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("pwrite at 1 PiB: %v, want EFBIG", err)
	}
	// fallocate is not implemented: refused, never a 1 PiB allocation.
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, 1<<50); !errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.EFBIG) {
		t.Errorf("fallocate of 1 PiB: %v, want EOPNOTSUPP or EFBIG", err)
	}
	f.Close()
	if b, err := os.ReadFile(small); err != nil || string(b) != "small\n" {
		t.Fatalf("after the refused truncates the file reads %q, %v", b, err)
	}
	if got := len(e.versions("huge", "small.txt")); got != 1 {
		t.Errorf("refused truncates made versions: %d, want 1", got)
	}

	// truncate -s 4T is allowed and costs little: stat, read at the end,
	// the S3 size, all within a bounded heap and resident set.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := vmRSS(t)
	sparse := e.p("huge", "sparse.img")
	if out, err := e.sh("truncate -s 4T " + sparse); err != nil {
		t.Fatalf("truncate -s 4T: %v %s", err, out)
	}
	st, err := os.Stat(sparse)
	if err != nil || st.Size() != 4<<40 {
		t.Fatalf("stat after truncate -s 4T: %v size %d", err, st.Size())
	}
	g, err := os.OpenFile(sparse, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	tail := make([]byte, 16)
	if n, err := g.ReadAt(tail, 4<<40-16); n != 16 || err != nil || string(tail) != string(make([]byte, 16)) {
		t.Fatalf("read of the last 16 bytes: %d %v %q", n, err, tail)
	}
	if _, err := g.WriteAt([]byte("end"), 4<<40-3); err != nil {
		t.Fatalf("pwrite of the last bytes of a 4 TiB file: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close (publish) of the 4 TiB file: %v", err)
	}
	head, err := e.s3.Client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("huge"), Key: aws.String("sparse.img")})
	must(t, err, "HeadObject of the sparse file")
	if aws.ToInt64(head.ContentLength) != 4<<40 || !strings.HasSuffix(aws.ToString(head.ETag), "-524288\"") {
		t.Errorf("HEAD: size %d ETag %s, want 4 TiB and a 524288-part ETag", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag))
	}
	rd, err := e.s3.Client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("huge"), Key: aws.String("sparse.img"), Range: aws.String("bytes=-5")})
	must(t, err, "GET of the last 5 bytes")
	b := make([]byte, 5)
	if _, err := rd.Body.Read(b); err != nil && string(b) != "\x00\x00end" {
		t.Fatalf("GET range: %v", err)
	}
	rd.Body.Close()
	if string(b) != "\x00\x00end" {
		t.Errorf("last 5 bytes over S3 %q", b)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 256<<20 {
		t.Errorf("a 4 TiB sparse file grew the daemon's heap by %d MiB", grew>>20)
	}
	if grew := vmRSS(t) - rssBefore; grew > 512<<20 {
		t.Errorf("a 4 TiB sparse file grew the daemon's resident set by %d MiB", grew>>20)
	}
	// Growing past the cap from a large size is refused as well.
	if err := os.Truncate(sparse, 5<<40+1); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("truncate to 5 TiB + 1: %v, want EFBIG", err)
	}
	if err := os.Truncate(sparse, 5<<40); err != nil {
		t.Errorf("truncate to exactly 5 TiB: %v, want success", err)
	}
}
