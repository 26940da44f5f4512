// Package s3 is the wormfs S3 listener: routing (path-style and
// virtual-host-style), SigV4 verification, the XML of each operation, and
// the one S3 error table (errors.go). It speaks only to meta; every lock
// decision is meta's (and so lockctl's), taken inside the store transaction.
package s3
