package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/wormfs/wormfs/meta"
)

// BenchmarkConcurrent puts and gets objects of 4 KiB, 1 MiB and 64 MiB with
// 8 concurrent clients, through the listener (aws-sdk-go-v2 at its default
// settings over TLS: CRC32 trailers, SigV4) and, as the baseline of the same
// run, directly on the store (a Writer and a synced Publish, a Reader). The
// ratio listener/store is what bench/s3.sh prints; the target is ≥ 0.7 for
// 1 MiB and 64 MiB.
//
// The third column, transport, is the same SDK client against a bare
// net/http server over the same TLS that does none of the listener's work:
// it drops a PUT's body unread by anything but the TLS layer and answers a
// GET with the bytes from memory in one write. No listener on this machine
// can beat it, so listener/transport is the listener's own cost and
// transport/store the most any HTTP listener could reach of the target.
func BenchmarkConcurrent(b *testing.B) {
	const clients = 8
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		data := bytes.Repeat([]byte("wormfs-benchmark"), size/16)
		for _, op := range []string{"put", "get"} {
			for _, via := range []string{"listener", "store", "transport"} {
				b.Run(fmt.Sprintf("%s/%s/%s", op, sizeName(size), via), func(b *testing.B) {
					e := newTestEnv(b)
					if _, err := e.store.CreateBucket("bench", meta.BucketOptions{ObjectLock: true}, meta.Actor{}); err != nil {
						b.Fatal(err)
					}
					tr := e.hc.Transport.(*http.Transport).Clone()
					tr.MaxIdleConnsPerHost = 2 * clients
					e.hc = &http.Client{Transport: tr}
					if via == "transport" {
						hs := httptest.NewTLSServer(transportHandler(data))
						defer hs.Close()
						e.url = hs.URL
						e.hc = &http.Client{Transport: hs.Client().Transport.(*http.Transport).Clone()}
						e.hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 2 * clients
					}
					c := e.client(testRootKey, testRootSecret)
					if op == "get" {
						for i := 0; i < clients; i++ {
							storePut(b, e.store, fmt.Sprintf("k%d", i), data)
						}
					}
					var next atomic.Int64
					b.SetBytes(int64(size))
					b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						key := fmt.Sprintf("k%d", next.Add(1)%clients)
						buf := make([]byte, 1<<20)
						for pb.Next() {
							var err error
							switch op + "/" + via {
							case "put/listener", "put/transport":
								_, err = c.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(key), Body: bytes.NewReader(data)})
							case "put/store":
								err = storePutErr(e.store, key, data)
							case "get/listener", "get/transport":
								var out *awss3.GetObjectOutput
								if out, err = c.GetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String(key)}); err == nil {
									_, err = io.CopyBuffer(io.Discard, out.Body, buf)
									out.Body.Close()
								}
							case "get/store":
								err = storeGet(e.store, key, buf)
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		}
	}
}

// transportHandler answers a PUT after reading its body to the end and a
// GET with data, written from memory in one call: HTTP over TLS and nothing
// else.
func transportHandler(data []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		switch r.Method {
		case http.MethodPut:
			io.Copy(io.Discard, r.Body)
		case http.MethodGet:
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Header().Set("Content-Type", "binary/octet-stream")
			w.Write(data)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	})
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func storePut(b *testing.B, st *meta.Store, key string, data []byte) {
	if err := storePutErr(st, key, data); err != nil {
		b.Fatal(err)
	}
}

// storePutErr is what a PUT does to the store, without HTTP: the body
// written in 1 MiB pieces, one synced publish.
func storePutErr(st *meta.Store, key string, data []byte) error {
	w, err := st.NewWriter("bench", key, nil)
	if err != nil {
		return err
	}
	defer w.Abort()
	for off := 0; off < len(data); off += 1 << 20 {
		if _, err := w.WriteAt(data[off:min(off+1<<20, len(data))], int64(off)); err != nil {
			return err
		}
	}
	_, err = w.Publish(meta.PublishOptions{Sync: true})
	return err
}

// storeGet is what a GET reads from the store, without HTTP.
func storeGet(st *meta.Store, key string, buf []byte) error {
	v, err := st.Get("bench", key, "")
	if err != nil {
		return err
	}
	r, err := st.NewReader(v)
	if err != nil {
		return err
	}
	for off := int64(0); off < r.Size(); {
		n, err := r.ReadAt(buf, off)
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return nil
}
