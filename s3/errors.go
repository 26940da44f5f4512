package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
)

// APIError is one row of the S3 error table: the code clients check, the
// HTTP status, and a message for people. Handlers and the authenticator
// return these (or meta/lockctl sentinels, translated by toAPIError); only
// writeError puts them on the wire.
type APIError struct {
	Code    string
	Message string
	Status  int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// WithMessage returns a copy of e with a more precise message.
func (e *APIError) WithMessage(format string, args ...any) *APIError {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// Is makes errors.Is match on the code, so a WithMessage copy matches its row.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code == e.Code
}

func apiErr(code string, status int, msg string) *APIError {
	return &APIError{Code: code, Message: msg, Status: status}
}

// The S3 error table. Codes and statuses are AWS's. Append rows; never
// change a code or a status.
var (
	// Authentication and request integrity.
	ErrAccessDenied            = apiErr("AccessDenied", http.StatusForbidden, "Access Denied")
	ErrAuthorizationMalformed  = apiErr("AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed.")
	ErrAuthorizationQuery      = apiErr("AuthorizationQueryParametersError", http.StatusBadRequest, "The presigned URL's authorization query parameters are malformed.")
	ErrInvalidAccessKeyID      = apiErr("InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records.")
	ErrSignatureDoesNotMatch   = apiErr("SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	ErrRequestTimeTooSkewed    = apiErr("RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the server's time is too large.")
	ErrExpiredPresign          = apiErr("AccessDenied", http.StatusForbidden, "Request has expired")
	ErrMissingSecurityHeader   = apiErr("MissingSecurityHeader", http.StatusBadRequest, "Your request was missing a required header.")
	ErrBadDigest               = apiErr("BadDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified did not match what we received.")
	ErrInvalidDigest           = apiErr("InvalidDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified is not valid.")
	ErrContentSHA256Mismatch   = apiErr("XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	ErrIncompleteBody          = apiErr("IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	ErrMalformedTrailer        = apiErr("MalformedTrailerError", http.StatusBadRequest, "The request contained trailing data that was not well-formed or did not conform to our published schema.")
	ErrInvalidChunk            = apiErr("InvalidRequest", http.StatusBadRequest, "The aws-chunked body is malformed.")
	ErrMissingContentLength    = apiErr("MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header.")
	ErrEntityTooLarge          = apiErr("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size.")
	ErrRequestTimeout          = apiErr("RequestTimeout", http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period.")
	ErrUnsupportedChecksum     = apiErr("InvalidRequest", http.StatusBadRequest, "The checksum algorithm is not supported.")
	ErrMultipleChecksums       = apiErr("InvalidRequest", http.StatusBadRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	ErrUnsupportedSignature    = apiErr("InvalidRequest", http.StatusBadRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
	ErrNotImplementedAuth      = apiErr("NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented.")
	ErrInvalidSecurityTokenUse = apiErr("InvalidToken", http.StatusBadRequest, "Session tokens are not supported.")
	ErrMissingContentSHA256    = apiErr("InvalidRequest", http.StatusBadRequest, "Missing required header for this request: x-amz-content-sha256")
	ErrInvalidContentSHA256    = apiErr("InvalidArgument", http.StatusBadRequest, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
	ErrMultipleAuthMechanisms  = apiErr("InvalidArgument", http.StatusBadRequest, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	ErrRequestNotYetValid      = apiErr("AccessDenied", http.StatusForbidden, "Request is not valid yet")
	ErrHeadersNotSigned        = apiErr("AccessDenied", http.StatusForbidden, "There were headers present in the request which were not signed")

	// Buckets.
	ErrNoSuchBucket            = apiErr("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist.")
	ErrBucketAlreadyOwnedByYou = apiErr("BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it.")
	ErrBucketNotEmpty          = apiErr("BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty.")
	ErrInvalidBucketName       = apiErr("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid.")
	ErrInvalidBucketState      = apiErr("InvalidBucketState", http.StatusConflict, "The request is not valid with the current state of the bucket.")
	ErrInvalidLocation         = apiErr("InvalidLocationConstraint", http.StatusBadRequest, "The specified location constraint is not valid.")

	// Objects.
	ErrNoSuchKey          = apiErr("NoSuchKey", http.StatusNotFound, "The specified key does not exist.")
	ErrNoSuchVersion      = apiErr("NoSuchVersion", http.StatusNotFound, "The specified version does not exist.")
	ErrKeyTooLong         = apiErr("KeyTooLongError", http.StatusBadRequest, "Your key is too long.")
	ErrInvalidKey         = apiErr("InvalidArgument", http.StatusBadRequest, "The object key is not valid.")
	ErrInvalidVersionID   = apiErr("InvalidArgument", http.StatusBadRequest, "Invalid version id specified.")
	ErrInvalidRange       = apiErr("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable.")
	ErrPreconditionFailed = apiErr("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
	ErrNotModified        = apiErr("NotModified", http.StatusNotModified, "Not Modified")
	ErrMethodNotAllowed   = apiErr("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	ErrInvalidTag         = apiErr("InvalidTag", http.StatusBadRequest, "The tag provided was not a valid tag.")
	ErrInvalidCopySource  = apiErr("InvalidArgument", http.StatusBadRequest, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
	ErrInvalidCopyRequest = apiErr("InvalidRequest", http.StatusBadRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	ErrMetadataTooLarge   = apiErr("MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size.")
	ErrInvalidStorage     = apiErr("InvalidStorageClass", http.StatusBadRequest, "The storage class you specified is not valid.")

	// Multipart uploads.
	ErrNoSuchUpload       = apiErr("NoSuchUpload", http.StatusNotFound, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.")
	ErrInvalidPart        = apiErr("InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.")
	ErrInvalidPartOrder   = apiErr("InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number.")
	ErrEntityTooSmall     = apiErr("EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size.")
	ErrInvalidPartNumber  = apiErr("InvalidArgument", http.StatusBadRequest, "Part number must be an integer between 1 and 10000, inclusive.")
	ErrMalformedPartsList = apiErr("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema.")

	// Object Lock.
	ErrMalformedXML           = apiErr("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema.")
	ErrIllegalVersioning      = apiErr("IllegalVersioningConfigurationException", http.StatusBadRequest, "The Versioning element must be specified")
	ErrInvalidArgument        = apiErr("InvalidArgument", http.StatusBadRequest, "Invalid Argument")
	ErrInvalidRequest         = apiErr("InvalidRequest", http.StatusBadRequest, "Invalid Request")
	ErrInvalidRetentionPeriod = apiErr("InvalidRetentionPeriod", http.StatusBadRequest, "The retention period must be a positive whole number of days or years.")
	ErrNoSuchLockConfig       = apiErr("NoSuchObjectLockConfiguration", http.StatusNotFound, "The specified object does not have a ObjectLock configuration.")
	ErrNoBucketLockConfig     = apiErr("ObjectLockConfigurationNotFoundError", http.StatusNotFound, "Object Lock configuration does not exist for this bucket.")
	ErrLockHeadersNoMD5       = apiErr("InvalidRequest", http.StatusBadRequest, "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters.")
	ErrLockOnUnlockedBucket   = apiErr("InvalidRequest", http.StatusBadRequest, "Bucket is missing Object Lock Configuration.")
	ErrPastRetainDate         = apiErr("InvalidArgument", http.StatusBadRequest, "The retain until date must be in the future!")
	ErrLockHeadersIncomplete  = apiErr("InvalidArgument", http.StatusBadRequest, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.")
	ErrUnknownLockMode        = apiErr("InvalidArgument", http.StatusBadRequest, "Unknown wormfs object lock mode; expected GOVERNANCE or COMPLIANCE.")
	ErrBypassOnUnlockedBucket = apiErr("InvalidArgument", http.StatusBadRequest, "x-amz-bypass-governance-retention is only applicable to Object Lock enabled buckets.")
	ErrProtected              = apiErr("AccessDenied", http.StatusForbidden, "Access Denied because object protected by object lock.")

	// Bucket policies.
	ErrMalformedPolicy    = apiErr("MalformedPolicy", http.StatusBadRequest, "Policies must be valid JSON and the first byte must be '{'")
	ErrNoSuchBucketPolicy = apiErr("NoSuchBucketPolicy", http.StatusNotFound, "The bucket policy does not exist")
	// Compatibility answers (s3/compat.go): ACLs under BucketOwnerEnforced
	// and the bucket configurations that are not there.
	ErrACLNotSupported         = apiErr("AccessControlListNotSupported", http.StatusBadRequest, "The bucket does not allow ACLs")
	ErrBucketACLWithOwnership  = apiErr("InvalidBucketAclWithObjectOwnership", http.StatusBadRequest, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	ErrMalformedACL            = apiErr("MalformedACLError", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema")
	ErrNoSuchCORS              = apiErr("NoSuchCORSConfiguration", http.StatusNotFound, "The CORS configuration does not exist")
	ErrNoSuchWebsite           = apiErr("NoSuchWebsiteConfiguration", http.StatusNotFound, "The specified bucket does not have a website configuration")
	ErrNoSuchLifecycle         = apiErr("NoSuchLifecycleConfiguration", http.StatusNotFound, "The lifecycle configuration does not exist")
	ErrNoSuchEncryption        = apiErr("ServerSideEncryptionConfigurationNotFoundError", http.StatusNotFound, "The server side encryption configuration was not found")
	ErrNoSuchReplication       = apiErr("ReplicationConfigurationNotFoundError", http.StatusNotFound, "The replication configuration was not found")
	ErrNoSuchTagSet            = apiErr("NoSuchTagSet", http.StatusNotFound, "The TagSet does not exist")
	ErrNoSuchPublicAccessBlock = apiErr("NoSuchPublicAccessBlockConfiguration", http.StatusNotFound, "The public access block configuration was not found")

	// Everything else.
	ErrNotImplemented = apiErr("NotImplemented", http.StatusNotImplemented, "A header or query you provided implies functionality that is not implemented.")
	ErrInternal       = apiErr("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
	ErrSlowDown       = apiErr("SlowDown", http.StatusServiceUnavailable, "Please reduce your request rate.")
	ErrInvalidURI     = apiErr("InvalidURI", http.StatusBadRequest, "Couldn't parse the specified URI.")
	ErrStorageFull    = apiErr("InsufficientStorage", http.StatusInsufficientStorage, "The data directory of the store is full; free space and try again.")
	ErrMissingBody    = apiErr("MissingRequestBodyError", http.StatusBadRequest, "Request Body is empty.")

	// Request bodies of the operations.
	ErrMaxMessageLength   = apiErr("MaxMessageLengthExceeded", http.StatusBadRequest, "Your request was too big.")
	ErrMissingContentMD5  = apiErr("InvalidRequest", http.StatusBadRequest, "Missing required header for this request: Content-MD5 or x-amz-checksum-*.")
	ErrPartNotSatisfiable = apiErr("InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable")
)

// toAPIError translates an error from the layers below into a row of the
// table: the one place where meta and lockctl sentinels become S3 codes.
// Unknown errors become InternalError (and are logged by writeError).
func toAPIError(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae, true
	}
	msg := err.Error()
	switch {
	case errors.Is(err, meta.ErrNoSuchBucket):
		return ErrNoSuchBucket, true
	case errors.Is(err, meta.ErrBucketExists):
		return ErrBucketAlreadyOwnedByYou, true
	case errors.Is(err, meta.ErrBucketNotEmpty):
		return ErrBucketNotEmpty, true
	case errors.Is(err, meta.ErrInvalidBucketName):
		return ErrInvalidBucketName.WithMessage("%s", msg), true
	case errors.Is(err, meta.ErrNoSuchKey):
		return ErrNoSuchKey, true
	case errors.Is(err, meta.ErrNoSuchVersion):
		return ErrNoSuchVersion, true
	case errors.Is(err, meta.ErrKeyTooLong):
		return ErrKeyTooLong, true
	case errors.Is(err, meta.ErrInvalidKey):
		return ErrInvalidKey.WithMessage("%s", msg), true
	case errors.Is(err, meta.ErrInvalidVersionID):
		return ErrInvalidVersionID, true
	case errors.Is(err, meta.ErrInvalidBucketState):
		return ErrInvalidBucketState.WithMessage("%s", msg), true
	case errors.Is(err, meta.ErrNoLockConfig):
		return ErrNoBucketLockConfig, true
	case errors.Is(err, meta.ErrNoRetention), errors.Is(err, meta.ErrNoLegalHold):
		return ErrNoSuchLockConfig, true
	case errors.Is(err, meta.ErrDeleteMarker):
		return ErrMethodNotAllowed, true
	case errors.Is(err, meta.ErrNoSuchUpload):
		return ErrNoSuchUpload, true
	case errors.Is(err, meta.ErrInvalidPart):
		return ErrInvalidPart, true
	case errors.Is(err, meta.ErrInvalidPartOrder):
		return ErrInvalidPartOrder, true
	case errors.Is(err, meta.ErrEntityTooSmall):
		return ErrEntityTooSmall, true
	case errors.Is(err, meta.ErrInvalidRange):
		return ErrInvalidRange, true
	case errors.Is(err, meta.ErrNoSpace):
		return ErrStorageFull.WithMessage("%s", msg), true
	case errors.Is(err, meta.ErrConflict):
		return ErrSlowDown.WithMessage("%s", msg), true
	case errors.Is(err, meta.ErrStale):
		return ErrNoSuchVersion.WithMessage("%s", msg), true
	case errors.Is(err, lockctl.ErrProtected),
		errors.Is(err, lockctl.ErrComplianceLocked),
		errors.Is(err, lockctl.ErrBypassRequired),
		errors.Is(err, lockctl.ErrBypassNotPossible),
		errors.Is(err, lockctl.ErrLegalHoldDenied),
		errors.Is(err, lockctl.ErrRetentionDenied):
		return ErrAccessDenied.WithMessage("%s", msg), true
	case errors.Is(err, lockctl.ErrPastDate):
		return ErrPastRetainDate, true
	case errors.Is(err, lockctl.ErrUnknownMode):
		return ErrUnknownLockMode, true
	case errors.Is(err, lockctl.ErrInvalidPeriod):
		return ErrInvalidRetentionPeriod, true
	case errors.Is(err, lockctl.ErrDaysAndYears), errors.Is(err, lockctl.ErrNoPeriod),
		errors.Is(err, lockctl.ErrMissingMode), errors.Is(err, lockctl.ErrMissingDate),
		errors.Is(err, lockctl.ErrInvalidHold):
		return ErrMalformedXML.WithMessage("%s", msg), true
	case errors.Is(err, lockctl.ErrTooLong):
		return ErrInvalidArgument.WithMessage("%s", msg), true
	case errors.Is(err, lockctl.ErrNotLockedBucket):
		return ErrLockOnUnlockedBucket, true
	}
	return ErrInternal, false
}

// errorBody is the XML body of every S3 error.
type errorBody struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	Resource   string   `xml:"Resource,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	BucketName string   `xml:"BucketName,omitempty"`
	VersionID  string   `xml:"VersionId,omitempty"`
	RequestID  string   `xml:"RequestId"`
}

// writeError is the one XML error writer. HEAD requests and 304 answers get
// the status (and the x-amz-error-* headers) without a body.
func writeError(w http.ResponseWriter, r *http.Request, logger *log.Logger, requestID string, err error) {
	ae, known := toAPIError(err)
	if !known && logger != nil {
		logger.Printf("s3: %s %s: internal error: %v", r.Method, r.URL.Path, err)
	}
	h := w.Header()
	h.Set("x-amz-request-id", requestID)
	h.Set("x-amz-error-code", ae.Code)
	h.Set("x-amz-error-message", strings.ToValidUTF8(strings.NewReplacer("\r", " ", "\n", " ").Replace(ae.Message), "?"))
	if r.Method == http.MethodHead || ae.Status == http.StatusNotModified {
		w.WriteHeader(ae.Status)
		return
	}
	body := errorBody{Code: ae.Code, Message: ae.Message, Resource: r.URL.Path, RequestID: requestID}
	out, _ := xml.Marshal(body)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(xml.Header)+len(out)))
	w.WriteHeader(ae.Status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
