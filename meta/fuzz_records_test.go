package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// FuzzDecodeRecords: every stored-record decoder either refuses its input
// with ErrCorrupt or decodes it into a value that encodes back:
//   - extents and chunk refs are fixed-width, so encode(decode(b)) == b;
//   - version and bucket records are JSON: one decode/encode round reaches
//     a fixed point, and what the decode cache hands out is the caller's
//     own (changing it does not change the next decoding of the same bytes,
//     which also carries the bucket it was asked for).
func FuzzDecodeRecords(f *testing.F) {
	f.Add(encode(&Version{Key: "a/b", Seq: 7, ID: versionID(7), Size: 3, ETag: "900150983cd24fb0d6963f7d28e17f72",
		UserMeta: map[string]string{"k": "v"}, Tags: map[string]string{"t": "1"}, Checksums: map[string]string{"CRC32": "NSRBwg=="},
		RetMode: "GOVERNANCE", HashState: []byte{1, 2, 3}}))
	f.Add([]byte(`{"key":"k","seq":1,"id":"0000000000000001","dm":true,"created":"2026-01-01T00:00:00+01:00"}`))
	f.Add([]byte(`{"name":"bkt","created":"2026-01-01T00:00:00Z","versioning":"Enabled","objectLock":true,"rule":{"Mode":"COMPLIANCE","Days":1}}`))
	f.Add([]byte(`{"KEY":"k","key":"j","meta":{"a":"1","a":"2"},"hash":"","sums":null}`))
	f.Add([]byte(`{"created":"0000-01-01T00:00:00+01:00","mtime":"9999-12-31T23:59:59.999999999-01:00"}`))
	f.Add([]byte(`{"size":1e3}`))
	f.Add([]byte("{\"key\":\"\xff\"}"))
	f.Add(encodeExtents([]extent{{id: 1, off: 0, n: 4096}, {id: 0, off: 0, n: 1}}))
	f.Add(chunkRef{Refs: 2, Size: 4096, CRC: 0xdeadbeef}.encode())
	f.Add([]byte{})
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzExtents(t, b)
		fuzzChunkRef(t, b)
		fuzzVersionRecord(t, b)
		fuzzBucketRecord(t, b)
	})
}

func fuzzExtents(t *testing.T, b []byte) {
	ext, err := decodeExtents(b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) || len(b)%extentSize == 0 {
			t.Fatalf("decodeExtents(%d bytes): %v", len(b), err)
		}
		return
	}
	if len(b)%extentSize != 0 || len(ext) != len(b)/extentSize || !bytes.Equal(encodeExtents(ext), b) {
		t.Fatalf("decodeExtents(%x) = %v does not encode back", b, ext)
	}
}

func fuzzChunkRef(t *testing.T, b []byte) {
	ref, err := decodeChunkRef(b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) || len(b) == 12 {
			t.Fatalf("decodeChunkRef(%d bytes): %v", len(b), err)
		}
		return
	}
	if !bytes.Equal(ref.encode(), b) {
		t.Fatalf("decodeChunkRef(%x) = %+v does not encode back", b, ref)
	}
}

func fuzzVersionRecord(t *testing.T, b []byte) {
	v, err := decodeVersion("bucket-a", b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeVersion: %v is not ErrCorrupt", err)
		}
		return
	}
	if v.Bucket != "bucket-a" {
		t.Fatalf("decodeVersion: bucket %q", v.Bucket)
	}
	enc := encode(v)
	v2, err := decodeVersion("bucket-a", enc)
	if err != nil || !bytes.Equal(encode(v2), enc) {
		t.Fatalf("version %s re-encoded as %s does not decode to itself: %v", b, enc, err)
	}

	checkDecodedForm(t, v)
	// The same version with its times in UTC (what the store writes): the
	// form seeded into the cache at publish is what decoding yields.
	u := v.clone()
	u.Created, u.Mtime, u.Ctime, u.RetUntil = u.Created.UTC(), u.Mtime.UTC(), u.Ctime.UTC(), u.RetUntil.UTC()
	checkDecodedForm(t, u)

	// Change everything the caller may change; the cache must not see it.
	v.Key, v.Size, v.ETag = v.Key+"x", v.Size+1, "changed"
	for _, m := range []map[string]string{v.UserMeta, v.Tags, v.Checksums} {
		for k := range m {
			m[k] += "changed"
		}
		if m != nil {
			m["fuzz-added"] = "x"
		}
	}
	for i := range v.HashState {
		v.HashState[i] ^= 0xff
	}
	v3, err := decodeVersion("bucket-b", b)
	if err != nil || v3.Bucket != "bucket-b" || !bytes.Equal(encode(v3), enc) {
		t.Fatalf("decoding %s again after changing the first result gives %s (bucket %q), %v", b, encode(v3), v3.Bucket, err)
	}
}

// checkDecodedForm: when decodedForm claims to know what decoding v's
// record yields, it is what json.Unmarshal yields.
func checkDecodedForm(t *testing.T, v *Version) {
	t.Helper()
	d, ok := v.decodedForm()
	if !ok {
		return
	}
	rec, err := json.Marshal(v)
	if err != nil {
		return // a time out of the years 0000–9999 (the store clamps them)
	}
	var fresh Version
	if err := json.Unmarshal(rec, &fresh); err != nil {
		t.Fatalf("decoding %s: %v", rec, err)
	}
	if !reflect.DeepEqual(d, &fresh) {
		t.Fatalf("decodedForm of %s:\n%#v\nbut decoding gives\n%#v", rec, d, &fresh)
	}
}

func fuzzBucketRecord(t *testing.T, b []byte) {
	bk, err := decodeBucket(b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeBucket: %v is not ErrCorrupt", err)
		}
		return
	}
	enc := encode(bk)
	bk2, err := decodeBucket(enc)
	if err != nil || !bytes.Equal(encode(bk2), enc) {
		t.Fatalf("bucket %s re-encoded as %s does not decode to itself: %v", b, enc, err)
	}
	bk.Name, bk.Versioning, bk.ObjectLock, bk.Rule.Days = bk.Name+"x", "changed", !bk.ObjectLock, bk.Rule.Days+1
	bk3, err := decodeBucket(b)
	if err != nil || !bytes.Equal(encode(bk3), enc) {
		t.Fatalf("decoding bucket %s again after changing the first result gives %s, %v", b, encode(bk3), err)
	}
}

// fuzzSplitKey splits a version key back into bucket, key and sequence,
// as a reader of the schema in keys.go would: the names end at NULs.
func fuzzSplitKey(k []byte) (bucket, key string, seq uint64, ok bool) {
	if len(k) < 1+2+8 || k[0] != pVersion {
		return "", "", 0, false
	}
	rest := k[1:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", "", 0, false
	}
	bucket, rest = string(rest[:i]), rest[i+1:]
	j := bytes.IndexByte(rest, 0)
	if j < 0 || len(rest) != j+1+8 {
		return "", "", 0, false
	}
	key = string(rest[:j])
	var inv uint64
	for _, c := range rest[j+1:] {
		inv = inv<<8 | uint64(c)
	}
	return bucket, key, ^inv, true
}

// FuzzValidNames: ValidBucketName and ValidKey accept exactly the names
// their doc comments describe, refusing with the documented sentinels;
// for accepted names the Badger key schema is unambiguous (a version key
// splits back into its bucket, key and sequence) and orders versions
// newest first; parseVersionID accepts only 16 hex digits naming a
// non-zero sequence and is the inverse of versionID.
func FuzzValidNames(f *testing.F) {
	f.Add("my-bucket", "a/b/c.txt", uint64(1), "0000000000000001")
	f.Add("a.b", "x", uint64(1<<63), "ffffffffffffffff")
	f.Add("192.168.5.4", "a/./b", uint64(0), "0000000000000000")
	f.Add("01.02.03.04", "a/../b", uint64(42), "000000000000002A")
	f.Add("ab", "a\x00b", uint64(42), "0x0000000000002a")
	f.Add("a..b", "\xff", uint64(42), "+000000000000002")
	f.Add("-ab", strings.Repeat("k", 1025), uint64(42), "2a")
	f.Add("ab-", strings.Repeat("k", 256), uint64(42), "00000000000000_2")
	f.Add("Abc", "/lead//double/", uint64(42), "null")
	f.Add(strings.Repeat("b", 64), strings.Repeat(strings.Repeat("k", 255)+"/", 4), uint64(42), "")
	f.Add("a_b", ".", uint64(42), "000000000000002g")
	f.Fuzz(func(t *testing.T, bucket, key string, seq uint64, id string) {
		// ValidBucketName, against its doc comment.
		bucketOK := len(bucket) >= 3 && len(bucket) <= 63 && !strings.Contains(bucket, "..") &&
			strings.Trim(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") == "" &&
			strings.Trim(bucket[:1]+bucket[len(bucket)-1:], ".-") == bucket[:1]+bucket[len(bucket)-1:]
		if _, err := netip.ParseAddr(bucket); err == nil {
			bucketOK = false
		}
		if err := ValidBucketName(bucket); (err == nil) != bucketOK || err != nil && !errors.Is(err, ErrInvalidBucketName) {
			t.Fatalf("ValidBucketName(%q) = %v, want valid %v", bucket, err, bucketOK)
		}

		// ValidKey, against its doc comment.
		keyOK, tooLong := key != "" && utf8.ValidString(key) && !strings.ContainsRune(key, 0), len(key) > MaxKeyLen
		for _, c := range strings.Split(key, "/") {
			keyOK = keyOK && c != "." && c != ".."
			tooLong = tooLong || len(c) > MaxNameLen
		}
		err := ValidKey(key)
		switch {
		case err == nil && (!keyOK || tooLong):
			t.Fatalf("ValidKey(%q) accepted it", key)
		case err != nil && keyOK && !tooLong:
			t.Fatalf("ValidKey(%q) = %v", key, err)
		case err != nil && !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrKeyTooLong):
			t.Fatalf("ValidKey(%q) = %v, not a sentinel", key, err)
		case errors.Is(err, ErrKeyTooLong) && !tooLong:
			t.Fatalf("ValidKey(%q) = %v, but it is not too long", key, err)
		}

		// parseVersionID and versionID.
		got, err := parseVersionID(id)
		if err != nil {
			if !errors.Is(err, ErrInvalidVersionID) {
				t.Fatalf("parseVersionID(%q) = %v, not ErrInvalidVersionID", id, err)
			}
		} else if got == 0 || len(id) != 16 || versionID(got) != strings.ToLower(id) {
			// Upper-case digits are another spelling of the same id; the
			// edges (s3.checkVersionID, the versions view) refuse them.
			t.Fatalf("parseVersionID(%q) = %d, which versionID spells %q", id, got, versionID(got))
		}
		if seq != 0 {
			if s, err := parseVersionID(versionID(seq)); err != nil || s != seq {
				t.Fatalf("parseVersionID(versionID(%d)) = %d, %v", seq, s, err)
			}
		}

		// The key schema, for names the edges let through.
		if !bucketOK || !keyOK || tooLong {
			return
		}
		k := keyVersion(bucket, key, seq)
		if b, kk, s, ok := fuzzSplitKey(k); !ok || b != bucket || kk != key || s != seq {
			t.Fatalf("keyVersion(%q, %q, %d) = %q splits into %q, %q, %d, %v", bucket, key, seq, k, b, kk, s, ok)
		}
		if !bytes.HasPrefix(k, keyObjectPrefix(bucket, key)) || !bytes.HasPrefix(k, keyBucketVersions(bucket)) {
			t.Fatalf("keyVersion(%q, %q, %d) = %q is outside its prefixes", bucket, key, seq, k)
		}
		if got != 0 && got != seq {
			if newer := bytes.Compare(keyVersion(bucket, key, max(got, seq)), keyVersion(bucket, key, min(got, seq))) < 0; !newer {
				t.Fatalf("version %d of %q does not sort before version %d", max(got, seq), key, min(got, seq))
			}
		}
		if !bytes.HasPrefix(keyCurrent(bucket, key), keyBucketCurrent(bucket)) {
			t.Fatalf("keyCurrent(%q, %q) is outside the bucket's prefix", bucket, key)
		}
	})
}

// TestPublishSeedsDecodedVersion: a version written by the store is in the
// decode cache as exactly what decoding its record gives, so the first
// read of a new version (stat after create) skips the JSON decoding.
func TestPublishSeedsDecodedVersion(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateBucket("seed", BucketOptions{Versioning: VersioningEnabled, ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter("seed", "dir/file ✓", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	v, err := w.Publish(PublishOptions{
		UserMeta:  map[string]string{"Color": "blue"},
		Retention: lockctl.Retention{Mode: lockctl.ModeGovernance, Until: until},
		LegalHold: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var rec []byte
	if err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(keyCurrent("seed", v.Key))
		if err != nil {
			return err
		}
		rec, err = item.ValueCopy(nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cached := versionCache.get(rec)
	if cached == nil {
		t.Fatalf("the record just published (%s) is not in the decode cache", rec)
	}
	var fresh Version
	if err := json.Unmarshal(rec, &fresh); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cached, &fresh) {
		t.Fatalf("cached\n%#v\nbut the record decodes to\n%#v", cached, &fresh)
	}
	got, err := s.Get("seed", v.Key, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Bucket != "seed" || got.ETag != v.ETag || !got.RetUntil.Equal(v.RetUntil) || !got.LegalHold || got.UserMeta["Color"] != "blue" {
		t.Fatalf("Get after publish = %+v, published %+v", got, v)
	}
}
