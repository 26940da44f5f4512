package fs

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/xattr"
)

// TestToErrno: every sentinel maps to its errno also when wrapped (as the
// store returns them), and an unknown error is EIO.
func TestToErrno(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"nil", nil, 0},
		{"errno passes through", syscall.EROFS, syscall.EROFS},
		{"protected", lockctl.ErrProtected, syscall.EPERM},
		{"compliance", lockctl.ErrComplianceLocked, syscall.EPERM},
		{"bypass required", lockctl.ErrBypassRequired, syscall.EPERM},
		{"bypass not possible", lockctl.ErrBypassNotPossible, syscall.EPERM},
		{"legal hold denied", lockctl.ErrLegalHoldDenied, syscall.EPERM},
		{"retention denied", lockctl.ErrRetentionDenied, syscall.EPERM},
		{"past date", lockctl.ErrPastDate, syscall.EINVAL},
		{"too long", lockctl.ErrTooLong, syscall.EINVAL},
		{"unknown mode", lockctl.ErrUnknownMode, syscall.EINVAL},
		{"malformed", xattr.ErrMalformed, syscall.EINVAL},
		{"no such key", meta.ErrNoSuchKey, syscall.ENOENT},
		{"no such bucket", meta.ErrNoSuchBucket, syscall.ENOENT},
		{"no such version", meta.ErrNoSuchVersion, syscall.ENOENT},
		{"key too long", meta.ErrKeyTooLong, syscall.ENAMETOOLONG},
		{"invalid key", meta.ErrInvalidKey, syscall.EINVAL},
		{"invalid bucket name", meta.ErrInvalidBucketName, syscall.EINVAL},
		{"bucket not empty", meta.ErrBucketNotEmpty, syscall.ENOTEMPTY},
		{"bucket exists", meta.ErrBucketExists, syscall.EEXIST},
		{"conflict", meta.ErrConflict, syscall.EAGAIN},
		{"stale", meta.ErrStale, syscall.ESTALE},
		{"closed", meta.ErrClosed, syscall.EIO},
		{"corrupt", meta.ErrCorrupt, syscall.EIO},
		{"cancelled", context.Canceled, syscall.EINTR},
		{"unknown", errors.New("something else"), syscall.EIO},
		// A lock violation wraps context first and the rule last, as
		// the store does ("b/k version x: %w").
		{"wrapped protected", fmt.Errorf("b/k version 1: %w", lockctl.ErrProtected), syscall.EPERM},
		{"malformed wrapping a lock error", fmt.Errorf("%w: retention: %w", xattr.ErrMalformed, lockctl.ErrUnknownMode), syscall.EINVAL},
		{"wrapped no such key", fmt.Errorf("%w: b/k (deleted)", meta.ErrNoSuchKey), syscall.ENOENT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := toErrno(c.err); got != c.want {
				t.Fatalf("toErrno(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

// TestIno: inode numbers depend on kind, bucket and key only, never 0 or
// 1, and differ between a file and a directory of the same name.
func TestIno(t *testing.T) {
	a := ino(kindFile, "b", "x")
	if a != ino(kindFile, "b", "x") {
		t.Fatal("not deterministic")
	}
	seen := map[uint64]string{}
	for _, c := range []struct {
		kind        byte
		bucket, key string
	}{
		{kindFile, "b", "x"}, {kindDir, "b", "x/"}, {kindFile, "b", "x/"}, {kindFile, "c", "x"},
		{kindBucket, "b", ""}, {kindFile, "bx", ""}, {kindFile, "b", "y"},
	} {
		n := ino(c.kind, c.bucket, c.key)
		if n <= 1 {
			t.Fatalf("ino %d for %v", n, c)
		}
		name := fmt.Sprintf("%c %s %s", c.kind, c.bucket, c.key)
		if prev, ok := seen[n]; ok {
			t.Fatalf("%s and %s share inode %d", prev, name, n)
		}
		seen[n] = name
	}
	f := newWormFS(nil, Options{})
	id := f.ident(kindFile, syscall.S_IFREG, "b", "x")
	if id.Ino != a || id.Gen != 1 {
		t.Fatalf("ident = %+v", id)
	}
	// A retired name's next node has generation 2 and another inode
	// number (the retired node may live on under a new name); retiring
	// that one gives generation 3 and a third number. Directory entries
	// show the current number.
	f.retire(id)
	next := f.ident(kindFile, syscall.S_IFREG, "b", "x")
	if next.Ino == a || next.Ino <= 1 || next.Gen != 2 {
		t.Fatalf("after retire: %+v, want generation 2 with an inode number other than %d", next, a)
	}
	if got := f.inoOf(kindFile, "b", "x"); got != next.Ino {
		t.Fatalf("inoOf = %d, ident = %d", got, next.Ino)
	}
	f.retire(next)
	third := f.ident(kindFile, syscall.S_IFREG, "b", "x")
	if third.Gen != 3 || third.Ino == a || third.Ino == next.Ino {
		t.Fatalf("after a second retire: %+v (generation 1 %d, 2 %d)", third, a, next.Ino)
	}
	if other := f.ident(kindFile, syscall.S_IFREG, "b", "y"); other.Gen != 1 || other.Ino != ino(kindFile, "b", "y") {
		t.Fatalf("an untouched name: %+v", other)
	}
}

// TestProcGroups reads this process's supplementary groups.
func TestProcGroups(t *testing.T) {
	want, err := syscall.Getgroups()
	if err != nil {
		t.Skip(err)
	}
	got, err := procGroups(uint32(syscall.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	if _, err := procGroups(0); err == nil {
		t.Fatal("pid 0 has groups")
	}
}
