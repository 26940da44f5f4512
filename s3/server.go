package s3

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wormfs/wormfs/meta"
)

// Options configure a Server.
type Options struct {
	AccessKey, SecretKey string // the root pair: may do everything, governance bypass included
	Users                []User // further users with their grants (--users FILE)
	Region               string // the GetBucketLocation answer; default "us-east-1"
	Logger               *log.Logger
}

// Server is the S3 listener over one store. It is an http.Handler; the
// http.Server around it (addresses, timeouts, TLS) belongs to cmd/wormfs.
type Server struct {
	store  *meta.Store
	region string
	logger *log.Logger
	owner  owner

	// authenticate verifies a request and wraps its body. It is the
	// Authenticator's method in production; unit tests of the handlers
	// may replace it.
	authenticate func(r *http.Request) (*Principal, *Body, error)

	// uploads serializes, per upload, the commit of a part with the
	// completion or abort of its upload (see uploadGates).
	uploads uploadGates
}

// New builds the listener over store.
func New(store *meta.Store, o Options) (*Server, error) {
	if store == nil {
		return nil, errors.New("s3: nil store")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Logger == nil {
		o.Logger = log.Default()
	}
	// Signatures are checked against the system clock, the one clients
	// sign with; the compliance clock (store.Now) may lag it or lead it
	// by design and is only for lock decisions.
	a, err := NewAuthenticator(o.AccessKey, o.SecretKey, o.Users, time.Now)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte("wormfs-owner:" + o.AccessKey))
	s := &Server{
		store:        store,
		region:       o.Region,
		logger:       o.Logger,
		owner:        owner{ID: hex.EncodeToString(sum[:]), DisplayName: "wormfs"},
		authenticate: a.Authenticate,
	}
	return s, nil
}

// request is the state of one request as it travels through the handlers.
type request struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	id     string
	p      *Principal
	body   *Body
	bucket string
	key    string
	auth   authState // policy lookups of this request (policy.go)
}

// newRequestID returns a random request id (16 hex digits, as AWS's) and
// an x-amz-id-2 value.
func newRequestID() (string, string) {
	var b [40]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "0000000000000000", "0"
	}
	return strings.ToUpper(hex.EncodeToString(b[:8])), base64.StdEncoding.EncodeToString(b[8:])
}

// ServeHTTP answers one S3 request. A panic in a handler is a bug; it is
// logged and answered with InternalError instead of taking the daemon down.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, id2 := newRequestID()
	h := w.Header()
	h.Set("x-amz-request-id", id)
	h.Set("x-amz-id-2", id2)
	h.Set("Server", "wormfs")
	q := &request{s: s, w: w, r: r, id: id}
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			s.logger.Printf("s3: panic serving %s %s: %v\n%s", r.Method, r.URL.Path, rec, debug.Stack())
			q.fail(ErrInternal)
		}
	}()
	// Authenticate even a request that routes nowhere, so an unsigned one
	// learns nothing but AccessDenied.
	route, rerr := s.route(r)
	p, body, err := s.authenticate(r)
	if err != nil {
		q.fail(err)
		return
	}
	if rerr != nil {
		q.fail(rerr)
		return
	}
	q.bucket, q.key = route.bucket, route.key
	q.p, q.body = p, body
	if err := q.authorizeRoute(route.op.name); err != nil {
		q.fail(err)
		return
	}
	if err := route.op.fn(q); err != nil {
		q.fail(err)
	}
}

// fail writes err as the S3 error answer.
func (q *request) fail(err error) {
	writeError(q.w, q.r, q.s.logger, q.id, err)
}

// actor names the principal for the store's audit log, with the
// governance bypass it asked for and may use.
func (q *request) actor(bypass bool) meta.Actor {
	a := meta.Actor{Name: "s3"}
	if q.p != nil {
		a.Name = "s3:" + q.p.AccessKey
		a.Bypass.Requested = bypass
		a.Bypass.Allowed = bypass && q.mayBypass(q.key)
	}
	return a
}

// can reports whether the principal holds a grant.
func (q *request) can(a Action) bool { return q.p != nil && q.p.Can(a) }

// query returns a query parameter.
func (q *request) query(name string) string { return q.r.URL.Query().Get(name) }

// bodyError turns an error from reading the request body into an S3
// error: the authenticator's integrity errors as they are, a broken
// connection as IncompleteBody.
func bodyError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return ErrIncompleteBody.WithMessage("reading the request body: %v", err)
}

// noContent answers 204.
func (q *request) noContent() error {
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// ok answers 200 with an empty body.
func (q *request) ok() error {
	q.w.Header().Set("Content-Length", "0")
	q.w.WriteHeader(http.StatusOK)
	return nil
}

// sync puts the commits so far on disk before a success is answered, for
// the operations whose store call does not sync by itself (S3 promises
// that an acknowledged change survives a crash).
func (q *request) sync() error {
	if q.s.store.SyncWrites() {
		return nil
	}
	return q.s.store.Sync()
}
