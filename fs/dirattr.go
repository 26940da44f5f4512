package fs

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/wormfs/wormfs/meta"
)

// A bucket directory (and the bucket list at the mount root) has no object
// to hold POSIX attributes, yet cp -a, tar x and rsync -a into a bucket set
// its mode, owner and times. They are kept in a store configuration record
// per bucket, tied to the bucket's creation time so that a bucket deleted
// and created again starts with the defaults.

// rootAttrName is the configuration record of the bucket list's attributes.
const rootAttrName = "fs.dirattr/"

// dirAttrRec is the stored attributes of a bucket directory.
type dirAttrRec struct {
	Bucket  string    `json:"bucket"`
	Created time.Time `json:"created"` // the bucket's creation time
	Mode    uint32    `json:"mode"`
	UID     uint32    `json:"uid"`
	GID     uint32    `json:"gid"`
	Mtime   time.Time `json:"mtime"`
	Ctime   time.Time `json:"ctime"`
}

// bucketAttrs returns the attributes of bucket's directory ("" for the
// bucket list): the stored ones, or 0755 root with the bucket's creation
// time.
func (f *wormFS) bucketAttrs(bucket string) (dirAttrRec, error) {
	rec := dirAttrRec{Bucket: bucket, Mode: 0o755, Mtime: f.started, Ctime: f.started}
	if bucket != "" {
		b, err := f.store.GetBucket(bucket)
		if err != nil {
			return rec, err
		}
		rec.Created, rec.Mtime, rec.Ctime = b.Created, b.Created, b.Created
	}
	raw, err := f.store.GetConfig(rootAttrName + bucket)
	if errors.Is(err, meta.ErrNoSuchKey) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	var stored dirAttrRec
	if json.Unmarshal(raw, &stored) != nil || stored.Bucket != bucket || !stored.Created.Equal(rec.Created) {
		return rec, nil // a record of an earlier bucket of the same name
	}
	return stored, nil
}

// setBucketAttrs applies u to bucket's directory attributes and stores them.
func (f *wormFS) setBucketAttrs(bucket string, u meta.AttrUpdate) error {
	rec, err := f.bucketAttrs(bucket)
	if err != nil {
		return err
	}
	if u.Mode != nil {
		rec.Mode = *u.Mode & 0o7777
	}
	if u.UID != nil {
		rec.UID = *u.UID
	}
	if u.GID != nil {
		rec.GID = *u.GID
	}
	if u.Mtime != nil {
		rec.Mtime = *u.Mtime
	}
	rec.Ctime = time.Now()
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return f.store.PutConfig(rootAttrName+bucket, raw)
}
