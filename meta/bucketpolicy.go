package meta

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/dgraph-io/badger/v4"
)

// Bucket policies (PutBucketPolicy) live in the bucket record's Policy
// field, so a deleted bucket takes its policy with it and a bucket created
// again under the same name starts without one. The store keeps the
// document as the S3 edge validated it (policy.Parse); every change is
// audited with the new document's SHA-256 and the document itself, so the
// log shows who let whom do what, and since when.

// SetBucketPolicy stores doc as the policy of bucket name (an empty doc
// removes it).
func (s *Store) SetBucketPolicy(name, doc string, actor Actor) error {
	return s.setBucketPolicy(name, doc, actor)
}

// DeleteBucketPolicy removes the policy of bucket name; removing a policy
// that is not there succeeds and audits nothing.
func (s *Store) DeleteBucketPolicy(name string, actor Actor) error {
	return s.setBucketPolicy(name, "", actor)
}

func (s *Store) setBucketPolicy(name, doc string, actor Actor) error {
	changed := false
	err := s.update(func(txn *badger.Txn) error {
		changed = false
		b, err := getBucket(txn, name)
		if err != nil {
			return err
		}
		if b.Policy == doc {
			return nil
		}
		b.Policy = doc
		changed = true
		if err := txn.Set(keyBucket(name), encode(b)); err != nil {
			return err
		}
		r := AuditRecord{Action: "bucket-policy-delete", Bucket: name, Actor: actor.Name}
		if doc != "" {
			sum := sha256.Sum256([]byte(doc))
			r.Action = "bucket-policy-set"
			r.Detail = "sha256 " + hex.EncodeToString(sum[:]) + ": " + doc
		}
		return s.audit(txn, r)
	})
	if err != nil || !changed {
		return err
	}
	return s.syncIfNeeded(true)
}
