package integration

// The ETag of a file written through the mount (issue 14 item 8, issue
// 18's hashing): the plain MD5 up to one part of 8 MiB, above it the S3
// multipart form in 8 MiB parts (as `aws s3 cp` makes with its default
// part size), checked against an MD5 computed here. Fails on the code
// before the change, which gave every file its plain MD5 (and hashed a
// hole byte by byte).

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// dataSeg is a piece of test content: n zero bytes when data is nil.
type dataSeg struct {
	data []byte
	n    int64
}

// wantETag is the S3 ETag of content segs uploaded in parts of partSize:
// the plain MD5 when it is at most one part, else the MD5 of the parts'
// binary MD5s, "-", the number of parts.
func wantETag(segs []dataSeg, partSize int64) string {
	var all []byte // part MD5s
	var total, in int64
	part := md5.New()
	zero := make([]byte, 1<<20)
	feed := func(b []byte) {
		for len(b) > 0 {
			m := min(int64(len(b)), partSize-in)
			part.Write(b[:m])
			in, b = in+m, b[m:]
			if in == partSize {
				all, in = append(all, part.Sum(nil)...), 0
				part.Reset()
			}
		}
	}
	for _, s := range segs {
		total += s.n
		if s.data != nil {
			feed(s.data)
			continue
		}
		for left := s.n; left > 0; left -= min(left, int64(len(zero))) {
			feed(zero[:min(left, int64(len(zero)))])
		}
	}
	if total <= partSize {
		if total == partSize {
			return hex.EncodeToString(all)
		}
		return hex.EncodeToString(part.Sum(nil))
	}
	if in > 0 {
		all = append(all, part.Sum(nil)...)
	}
	sum := md5.Sum(all)
	return fmt.Sprintf("%x-%d", sum, (total+partSize-1)/partSize)
}

func dataRand(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed, 'm', 'n', 't'}).Read(b)
	return b
}

func TestDataMountETags(t *testing.T) {
	e := testHistory(t, nil)
	e.mkbucket("etags")
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		segs []dataSeg
	}{
		{"empty", nil},
		{"one-byte", []dataSeg{{data: []byte("1"), n: 1}}},
		{"8MiB", []dataSeg{{data: dataRand(8*mib, 1), n: 8 * mib}}},
		{"8MiB+1", []dataSeg{{data: dataRand(8*mib+1, 2), n: 8*mib + 1}}},
		{"64MiB", []dataSeg{{data: dataRand(64*mib, 3), n: 64 * mib}}},
		{"1GiB-hole", []dataSeg{{data: dataRand(3*mib+5, 4), n: 3*mib + 5}, {n: 1 << 30}, {data: dataRand(2*mib+7, 5), n: 2*mib + 7}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(e.p("etags", tc.name))
			if err != nil {
				t.Fatal(err)
			}
			var off int64
			for _, s := range tc.segs {
				if s.data != nil {
					if _, err := f.WriteAt(s.data, off); err != nil {
						t.Fatal(err)
					}
				}
				off += s.n
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			want := `"` + wantETag(tc.segs, 8*mib) + `"`
			head, err := e.s3.Client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("etags"), Key: aws.String(tc.name)})
			must(t, err, "HeadObject")
			if got := aws.ToString(head.ETag); got != want {
				t.Errorf("ETag of the mount-written %s file: %s, want %s", tc.name, got, want)
			}
			if aws.ToInt64(head.ContentLength) != off {
				t.Errorf("size %d, want %d", aws.ToInt64(head.ContentLength), off)
			}
		})
	}
	// An S3 PUT keeps the plain MD5 of its body, whatever its size.
	body := dataRand(9*mib, 6)
	_, err := e.s3.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("etags"), Key: aws.String("put"), Body: bytes.NewReader(body)})
	must(t, err, "PutObject 9 MiB")
	head, err := e.s3.Client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("etags"), Key: aws.String("put")})
	must(t, err, "HeadObject put")
	if sum := md5.Sum(body); aws.ToString(head.ETag) != fmt.Sprintf(`"%x"`, sum) {
		t.Errorf("PUT ETag %s, want the plain MD5 %x", aws.ToString(head.ETag), sum)
	}
}
