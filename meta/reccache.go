package meta

import "sync"

// decodeCache memoizes the JSON decoding of bucket and version records,
// keyed by the record's exact bytes. A lookup (stat) decodes the bucket
// record and the version record of the key; the same records are decoded
// again by the next operation on the file, and the bucket record by every
// operation in the bucket. Because the key is the content itself, an entry
// can never be stale: a changed record has other bytes. Entries are never
// handed out: callers get a copy they may change.
//
// Two generations bound the memory: when the current one is full it
// becomes the old one and the older is dropped; a hit in the old one moves
// the entry forward, so records in use survive (an approximate LRU).
type decodeCache[T any] struct {
	mu       sync.Mutex
	max      int
	cur, old map[string]*T
}

func newDecodeCache[T any](max int) *decodeCache[T] {
	return &decodeCache[T]{max: max, cur: make(map[string]*T)}
}

// get returns the cached decoding of b, or nil.
func (c *decodeCache[T]) get(b []byte) *T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[string(b)]; ok {
		return v
	}
	if v, ok := c.old[string(b)]; ok {
		c.insert(string(b), v)
		return v
	}
	return nil
}

// put records v as the decoding of b; v must not be changed afterwards.
func (c *decodeCache[T]) put(b []byte, v *T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.insert(string(b), v)
}

func (c *decodeCache[T]) insert(k string, v *T) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[string]*T, c.max)
	}
	c.cur[k] = v
}

// maxRecordCache bounds each generation: version records are a few
// hundred bytes, so the two caches stay within a few tens of MiB.
const maxRecordCache = 16384

// maxCachedRecord is the largest record worth caching (a version with
// large user metadata is rare and would use the memory of many).
const maxCachedRecord = 4096

var (
	bucketCache  = newDecodeCache[Bucket](256)
	versionCache = newDecodeCache[Version](maxRecordCache)
)

// decodeBucket decodes a bucket record (through the cache).
func decodeBucket(b []byte) (*Bucket, error) {
	if c := bucketCache.get(b); c != nil {
		cp := *c
		return &cp, nil
	}
	d := new(Bucket)
	if err := jsonUnmarshal(b, d); err != nil {
		return nil, err
	}
	if len(b) <= maxCachedRecord {
		cp := *d
		bucketCache.put(b, &cp)
	}
	return d, nil
}
