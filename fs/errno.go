package fs

import (
	"context"
	"errors"
	"log"
	"sync/atomic"
	"syscall"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/xattr"
)

// errnoTable maps the sentinel errors of the layers below to errno values.
// The first match wins, so the lock rule violations (which may wrap other
// errors) come first.
var errnoTable = []struct {
	err   error
	errno syscall.Errno
}{
	// Lock rule violations: EPERM, and nothing changed.
	{lockctl.ErrProtected, syscall.EPERM},
	{lockctl.ErrComplianceLocked, syscall.EPERM},
	{lockctl.ErrBypassRequired, syscall.EPERM},
	{lockctl.ErrLegalHoldDenied, syscall.EPERM},
	{lockctl.ErrRetentionDenied, syscall.EPERM},
	{lockctl.ErrBypassNotPossible, syscall.EPERM},
	// Malformed or invalid requests: EINVAL.
	{xattr.ErrMalformed, syscall.EINVAL},
	{lockctl.ErrPastDate, syscall.EINVAL},
	{lockctl.ErrUnknownMode, syscall.EINVAL},
	{lockctl.ErrInvalidPeriod, syscall.EINVAL},
	{lockctl.ErrDaysAndYears, syscall.EINVAL},
	{lockctl.ErrNoPeriod, syscall.EINVAL},
	{lockctl.ErrTooLong, syscall.EINVAL},
	{lockctl.ErrMissingMode, syscall.EINVAL},
	{lockctl.ErrMissingDate, syscall.EINVAL},
	{lockctl.ErrInvalidHold, syscall.EINVAL},
	{lockctl.ErrNotLockedBucket, syscall.EINVAL},
	// Names.
	{meta.ErrKeyTooLong, syscall.ENAMETOOLONG},
	{meta.ErrInvalidKey, syscall.EINVAL},
	{meta.ErrInvalidBucketName, syscall.EINVAL},
	{meta.ErrInvalidVersionID, syscall.EINVAL},
	{meta.ErrInvalidRange, syscall.EINVAL},
	{meta.ErrFileTooLarge, syscall.EFBIG},
	{meta.ErrInvalidBucketState, syscall.EINVAL},
	// Existence.
	{meta.ErrNoSuchBucket, syscall.ENOENT},
	{meta.ErrNoSuchKey, syscall.ENOENT},
	{meta.ErrNoSuchVersion, syscall.ENOENT},
	{meta.ErrDeleteMarker, syscall.ENOENT},
	{meta.ErrNoRetention, syscall.ENODATA},
	{meta.ErrNoLegalHold, syscall.ENODATA},
	{meta.ErrNoLockConfig, syscall.ENODATA},
	{meta.ErrBucketExists, syscall.EEXIST},
	{meta.ErrBucketNotEmpty, syscall.ENOTEMPTY},
	// Transient and fatal conditions.
	{meta.ErrNoSpace, syscall.ENOSPC},
	{meta.ErrConflict, syscall.EAGAIN},
	{meta.ErrStale, syscall.ESTALE},
	{meta.ErrDamaged, syscall.EIO}, // logged and counted by meta
	{context.Canceled, syscall.EINTR},
}

// toErrno is the one translation of errors into errno values. Sentinels
// are matched with errors.Is; an errno passes through; anything unknown is
// logged and becomes EIO.
func toErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	for _, m := range errnoTable {
		if errors.Is(err, m.err) {
			return m.errno
		}
	}
	if errors.Is(err, meta.ErrClosed) {
		return syscall.EIO // shutting down; not worth a log line each
	}
	logf("EIO: %v", err)
	return syscall.EIO
}

// logger is where the package logs; Mount sets it from Options.Logger.
var logger atomic.Pointer[log.Logger]

func logf(format string, args ...any) {
	l := logger.Load()
	if l == nil {
		l = log.Default()
	}
	l.Printf("wormfs fs: "+format, args...)
}
