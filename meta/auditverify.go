package meta

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// VerifyAuditRecords checks an audit chain read back from its JSON lines
// (the mount's .wormfs/audit, or the output of `wormfs audit`) with the
// hash of the store: sequence numbers consecutive from 1, each record's
// Prev equal to its predecessor's Hash, each Hash correct. It returns the
// number of records that passed and, when the chain is broken, an
// *AuditBreak naming the first broken record. Only the store holds the
// head record, so records cut off at the end go unnoticed here;
// Store.VerifyAudit checks that too.
func VerifyAuditRecords(recs []AuditRecord) (int, error) {
	prev := ""
	for i, r := range recs {
		want := uint64(i + 1)
		switch {
		case r.Seq != want:
			return i, &AuditBreak{Seq: want, Reason: fmt.Sprintf("missing (next record is %d)", r.Seq)}
		case r.Prev != prev:
			return i, &AuditBreak{Seq: r.Seq, Reason: "does not chain to the previous record"}
		case r.computeHash() != r.Hash:
			return i, &AuditBreak{Seq: r.Seq, Reason: "content does not match its hash"}
		}
		prev = r.Hash
	}
	return len(recs), nil
}

// AuditAnchor is an audit head kept outside the store (printed by
// `wormfs audit head` and logged at every start): the chain checked later
// must still hold the record Seq with this Hash.
type AuditAnchor struct {
	Seq  uint64
	Hash string
}

func (a AuditAnchor) String() string { return fmt.Sprintf("%d:%s", a.Seq, a.Hash) }

// ParseAuditAnchor reads SEQ:HASH (the hash in hex, as the log shows it).
func ParseAuditAnchor(s string) (AuditAnchor, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || n == 0 {
		return AuditAnchor{}, fmt.Errorf("%q is not SEQ:HASH (e.g. 42:9f86d0…, as `wormfs audit head` prints it)", s)
	}
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return AuditAnchor{}, fmt.Errorf("%q: the hash must be 64 hex digits", s)
	}
	return AuditAnchor{Seq: n, Hash: strings.ToLower(hash)}, nil
}

// checkAnchor reports, as an *AuditBreak, a chain (already verified) that
// does not hold the kept head a: records cut off at the end, or a chain
// recomputed after an edit.
func checkAnchor(a AuditAnchor, n int, hashAt func(seq uint64) (string, bool)) error {
	if a.Seq > uint64(n) {
		return &AuditBreak{Seq: uint64(n) + 1, Reason: fmt.Sprintf("the kept head %s is beyond the end of the chain (%d records): records were removed", a, n)}
	}
	h, ok := hashAt(a.Seq)
	if !ok || h != a.Hash {
		return &AuditBreak{Seq: a.Seq, Reason: fmt.Sprintf("record %d has hash %s, not the kept head's %s: the chain was changed and recomputed", a.Seq, h, a.Hash)}
	}
	return nil
}

// VerifyAuditRecordsAgainst is VerifyAuditRecords, then checks that the
// chain holds the kept head a.
func VerifyAuditRecordsAgainst(recs []AuditRecord, a AuditAnchor) (int, error) {
	n, err := VerifyAuditRecords(recs)
	if err != nil {
		return n, err
	}
	return n, checkAnchor(a, n, func(seq uint64) (string, bool) { return recs[seq-1].Hash, true })
}

// VerifyAuditAgainst is VerifyAudit, then checks that the chain holds the
// kept head a.
func (s *Store) VerifyAuditAgainst(a AuditAnchor) (int, error) {
	n, err := s.VerifyAudit()
	if err != nil {
		return n, err
	}
	return n, checkAnchor(a, n, func(seq uint64) (string, bool) {
		var r AuditRecord
		err := s.view(func(txn *badger.Txn) error { return getJSON(txn, keyAudit(seq), &r, ErrNoSuchKey) })
		return r.Hash, err == nil
	})
}
