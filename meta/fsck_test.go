package meta

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// populate writes a store with versions, shared chunks, delete markers,
// locks, a multipart upload in progress and audit records.
func populate(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateBucket("fsck-b", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("fsck data "), 300000)
	v1 := put(t, s, "fsck-b", "a/big", big, PublishOptions{})
	w, _ := s.NewWriter("fsck-b", "a/big", v1)
	w.WriteAt([]byte("appended"), v1.Size)
	if _, err := w.Publish(PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "fsck-b", "small", []byte("x"), PublishOptions{LegalHold: true})
	if _, err := s.Delete("fsck-b", "small", PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRetention("fsck-b", "a/big", v1.ID, lockctl.Retention{Mode: lockctl.ModeGovernance, Until: s.Now().Add(3600e9)}, Actor{}); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUpload("fsck-b", "mp", PublishOptions{}, "")
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := s.NewWriter("fsck-b", "mp", nil)
	pw.WriteAt([]byte("part one"), 0)
	if _, err := pw.CommitPart(u.ID, 1, nil); err != nil {
		t.Fatal(err)
	}
}

func TestFsckCleanStore(t *testing.T) {
	dir := t.TempDir()
	populate(t, dir)
	var problems []string
	st, err := Fsck(dir, func(p Problem) { problems = append(problems, p.String()) })
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("clean store has problems:\n%s", strings.Join(problems, "\n"))
	}
	if st.Versions != 3 || st.DeleteMarkers != 1 || st.Parts != 1 || st.AuditRecords < 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFsckFindsDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(txn *badger.Txn) error
		want   string
	}{
		{"chunk bytes flipped", func(txn *badger.Txn) error {
			return firstOf(txn, pData, func(k, v []byte) error {
				v[10] ^= 0xFF
				return txn.Set(k, v)
			})
		}, "CRC32C"},
		{"reference count off by one", func(txn *badger.Txn) error {
			return firstOf(txn, pRef, func(k, v []byte) error {
				ref, _ := decodeChunkRef(v)
				ref.Refs++
				return txn.Set(k, ref.encode())
			})
		}, "reference count"},
		{"chunk data deleted", func(txn *badger.Txn) error {
			return firstOf(txn, pData, func(k, v []byte) error { return txn.Delete(k) })
		}, "chunk data missing"},
		{"current index removed", func(txn *badger.Txn) error {
			return firstOf(txn, pCurrent, func(k, v []byte) error { return txn.Delete(k) })
		}, "missing current-index entry"},
		{"audit record edited", func(txn *badger.Txn) error {
			return firstOf(txn, pAudit, func(k, v []byte) error {
				return txn.Set(k, bytes.Replace(v, []byte("fsck-b"), []byte("fsck-c"), 1))
			})
		}, "audit chain broken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			populate(t, dir)
			db, err := badger.Open(BadgerOptions(dir))
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.damage); err != nil {
				t.Fatal(err)
			}
			db.Close()
			var problems []string
			if _, err := Fsck(dir, func(p Problem) { problems = append(problems, p.String()) }); err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(problems, "\n")
			if !strings.Contains(joined, tc.want) {
				t.Fatalf("fsck did not report %q; it said:\n%s", tc.want, joined)
			}
		})
	}
}

func firstOf(txn *badger.Txn, prefix byte, fn func(k, v []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}})
	it.Rewind()
	if !it.Valid() {
		it.Close()
		return badger.ErrKeyNotFound
	}
	k := it.Item().KeyCopy(nil)
	v, err := it.Item().ValueCopy(nil)
	it.Close()
	if err != nil {
		return err
	}
	return fn(k, v)
}
