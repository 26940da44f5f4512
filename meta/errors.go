package meta

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// Sentinel errors of the store. Callers test them with errors.Is; the lock
// rule violations are lockctl's sentinels, wrapped.
var (
	ErrNoSuchBucket       = errors.New("no such bucket")
	ErrBucketExists       = errors.New("bucket already exists")
	ErrBucketNotEmpty     = errors.New("bucket is not empty")
	ErrInvalidBucketName  = errors.New("invalid bucket name")
	ErrNoSuchKey          = errors.New("no such key")
	ErrNoSuchVersion      = errors.New("no such version")
	ErrInvalidKey         = errors.New("invalid object key")
	ErrKeyTooLong         = errors.New("object key or path component too long")
	ErrInvalidVersionID   = errors.New("invalid version id")
	ErrInvalidBucketState = errors.New("the request is not valid for the bucket's current state")
	ErrNoLockConfig       = errors.New("bucket has no Object Lock configuration")
	ErrNoRetention        = errors.New("object version has no retention")
	ErrNoLegalHold        = errors.New("object version has no legal hold")
	ErrDeleteMarker       = errors.New("version is a delete marker")
	ErrNoSuchUpload       = errors.New("no such multipart upload")
	ErrInvalidPart        = errors.New("invalid multipart part")
	ErrInvalidPartOrder   = errors.New("multipart parts not in ascending order")
	ErrInvalidRange       = errors.New("invalid range")
	ErrConflict           = errors.New("too many concurrent changes to the same object; try again")
	ErrStale              = errors.New("the version this change was based on has been permanently deleted")
	ErrClosed             = errors.New("store is closed")
	ErrNewerFormat        = errors.New("store was written by a newer wormfs")
	ErrLocked             = errors.New("data directory is in use by another wormfs process")
	ErrCorrupt            = errors.New("store record is corrupt")
	// ErrDamaged is a stored chunk whose bytes fail their CRC32C or are
	// missing: the read fails, nothing is served (EIO / 500).
	ErrDamaged = errors.New("stored data is damaged")
	// ErrFileTooLarge is a size or write offset beyond MaxSize (EFBIG).
	ErrFileTooLarge = errors.New("file too large")
)

// notFound turns badger.ErrKeyNotFound into the given sentinel; the one
// place where Badger's not-found error is translated.
func notFound(err error, sentinel error) error {
	if errors.Is(err, badger.ErrKeyNotFound) {
		return sentinel
	}
	return err
}
