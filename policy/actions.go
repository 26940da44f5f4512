package policy

import "strings"

// knownActions are the S3 action names a policy may name without a
// wildcard (lower case). A name outside the list is a typo or an action
// wormfs cannot enforce, and the policy is refused, as AWS refuses a bucket
// policy with an invalid action.
var knownActions = func() map[string]bool {
	names := []string{
		"AbortMultipartUpload", "BypassGovernanceRetention", "CreateBucket", "DeleteBucket",
		"DeleteBucketPolicy", "DeleteBucketOwnershipControls", "DeleteBucketTagging", "DeleteBucketWebsite",
		"DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion", "DeleteObjectVersionTagging",
		"GetAccelerateConfiguration", "GetBucketAcl", "GetBucketCORS", "GetBucketLocation", "GetBucketLogging",
		"GetBucketNotification", "GetBucketObjectLockConfiguration", "GetBucketOwnershipControls",
		"GetBucketPolicy", "GetBucketPolicyStatus", "GetBucketPublicAccessBlock", "GetBucketRequestPayment",
		"GetBucketTagging", "GetBucketVersioning", "GetBucketWebsite", "GetEncryptionConfiguration",
		"GetLifecycleConfiguration", "GetObject", "GetObjectAcl", "GetObjectAttributes", "GetObjectLegalHold",
		"GetObjectRetention", "GetObjectTagging", "GetObjectTorrent", "GetObjectVersion", "GetObjectVersionAcl",
		"GetObjectVersionAttributes", "GetObjectVersionForReplication", "GetObjectVersionTagging",
		"GetReplicationConfiguration", "ListAllMyBuckets", "ListBucket", "ListBucketMultipartUploads",
		"ListBucketVersions", "ListMultipartUploadParts", "PutAccelerateConfiguration", "PutBucketAcl",
		"PutBucketCORS", "PutBucketLogging", "PutBucketNotification", "PutBucketObjectLockConfiguration",
		"PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock", "PutBucketRequestPayment",
		"PutBucketTagging", "PutBucketVersioning", "PutBucketWebsite", "PutEncryptionConfiguration",
		"PutLifecycleConfiguration", "PutObject", "PutObjectAcl", "PutObjectLegalHold", "PutObjectRetention",
		"PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging", "PutReplicationConfiguration",
		"ReplicateDelete", "ReplicateObject", "ReplicateTags", "RestoreObject",
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m["s3:"+strings.ToLower(n)] = true
	}
	return m
}()

// KnownAction reports whether name (e.g. "s3:GetObject", any case) is an
// S3 action wormfs knows.
func KnownAction(name string) bool { return knownActions[strings.ToLower(name)] }
