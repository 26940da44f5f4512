package meta

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// AuditRecord is one entry of the hash-chained audit log. Hash is
// SHA-256 over Prev and the record's other fields (with Hash empty), so
// changing or removing any record breaks the chain at that record.
type AuditRecord struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`    // compliance time
	SysTime   time.Time `json:"sysTime"` // system time, for reading
	Action    string    `json:"action"`
	Bucket    string    `json:"bucket,omitempty"`
	Key       string    `json:"key,omitempty"`
	VersionID string    `json:"versionId,omitempty"`
	Actor     string    `json:"actor,omitempty"`
	Bypass    bool      `json:"bypass,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Prev      string    `json:"prev"`
	Hash      string    `json:"hash"`
}

type auditHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

func (r AuditRecord) computeHash() string {
	r.Hash = ""
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// audit appends r to the log inside txn (so the record commits with the
// change it describes, or not at all).
func (s *Store) audit(txn *badger.Txn, r AuditRecord) error {
	var head auditHead
	item, err := txn.Get(keyAuditHead())
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return err
	default:
		if err := item.Value(func(b []byte) error { return jsonUnmarshal(b, &head) }); err != nil {
			return err
		}
	}
	r.Seq = head.Seq + 1
	r.Time = s.Now()
	r.SysTime = s.SysNow()
	if err := s.clockInTxn(txn, r.Time); err != nil {
		return err
	}
	r.Prev = head.Hash
	r.Hash = r.computeHash()
	if err := txn.Set(keyAudit(r.Seq), encode(r)); err != nil {
		return err
	}
	return txn.Set(keyAuditHead(), encode(auditHead{Seq: r.Seq, Hash: r.Hash}))
}

// Audit calls fn for every audit record with Seq ≥ from, in order.
func (s *Store) Audit(from uint64, fn func(AuditRecord) error) error {
	return s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pAudit}, PrefetchValues: true})
		defer it.Close()
		for it.Seek(keyAudit(from)); it.Valid(); it.Next() {
			var r AuditRecord
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &r) }); err != nil {
				return fmt.Errorf("%w: audit record %d: %v", ErrCorrupt, binary.BigEndian.Uint64(it.Item().Key()[1:]), err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditBreak describes the first place where the audit chain is broken.
type AuditBreak struct {
	Seq    uint64
	Reason string
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("audit record %d: %s", b.Seq, b.Reason)
}

// VerifyAudit checks the whole chain: sequence numbers consecutive from 1,
// each record's Prev equal to its predecessor's Hash, each Hash correct,
// and the head pointing at the last record. It returns the number of
// records checked and, when the chain is broken, an *AuditBreak naming the
// first broken record.
func (s *Store) VerifyAudit() (int, error) {
	n := 0
	var prev string
	var brk *AuditBreak
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pAudit}, PrefetchValues: true})
		defer it.Close()
		want := uint64(1)
		for it.Rewind(); it.Valid(); it.Next() {
			seq := binary.BigEndian.Uint64(it.Item().Key()[1:])
			var r AuditRecord
			err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &r) })
			switch {
			case seq != want:
				brk = &AuditBreak{Seq: want, Reason: fmt.Sprintf("missing (next stored record is %d)", seq)}
			case err != nil:
				brk = &AuditBreak{Seq: seq, Reason: "unreadable: " + err.Error()}
			case r.Seq != seq:
				brk = &AuditBreak{Seq: seq, Reason: fmt.Sprintf("stored under %d but says %d", seq, r.Seq)}
			case r.Prev != prev:
				brk = &AuditBreak{Seq: seq, Reason: "does not chain to the previous record"}
			case r.computeHash() != r.Hash:
				brk = &AuditBreak{Seq: seq, Reason: "content does not match its hash"}
			}
			if brk != nil {
				return nil
			}
			prev = r.Hash
			want++
			n++
		}
		var head auditHead
		item, err := txn.Get(keyAuditHead())
		if errors.Is(err, badger.ErrKeyNotFound) {
			if n > 0 {
				brk = &AuditBreak{Seq: uint64(n), Reason: "audit head is missing"}
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &head) }); err != nil {
			brk = &AuditBreak{Seq: uint64(n), Reason: "audit head unreadable"}
			return nil
		}
		if head.Seq != uint64(n) || head.Hash != prev {
			brk = &AuditBreak{Seq: uint64(n) + 1, Reason: fmt.Sprintf("head says %d records, the chain has %d (records removed at the end?)", head.Seq, n)}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if brk != nil {
		return n, brk
	}
	return n, nil
}

// AuditHead returns the sequence number and hash of the newest audit
// record, as the head record names them (0 and "" for an empty log): the
// value to keep outside the store and check later with VerifyAuditAgainst.
func (s *Store) AuditHead() (uint64, string, error) {
	var head auditHead
	err := s.view(func(txn *badger.Txn) error {
		return getJSON(txn, keyAuditHead(), &head, ErrNoSuchKey)
	})
	if errors.Is(err, ErrNoSuchKey) {
		return 0, "", nil
	}
	return head.Seq, head.Hash, err
}
