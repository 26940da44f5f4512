package meta

import "fmt"

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
