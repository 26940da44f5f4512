package integration

// Both views, one store (the S3 listener issue, must-show 4): what one view
// writes, the other reads, with the same bytes, ETags and version ids.

import (
	"crypto/md5"
	"encoding/hex"
	"io"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sys/unix"
)

func TestCrossViewOneStore(t *testing.T) {
	e := testHistory(t, nil)
	e.mkbucket("xview")
	p := e.p("xview", "doc.txt")
	ctx := t.Context()

	mountVersionID := func() string {
		t.Helper()
		buf := make([]byte, 128)
		n, err := unix.Getxattr(p, "user.s3.version-id", buf)
		if err != nil {
			t.Fatalf("getxattr user.s3.version-id: %v", err)
		}
		return string(buf[:n])
	}

	// A file closed in the mount is at once visible to GET: same bytes, the
	// single-part ETag is its MD5, the same version id.
	v1 := "written through the mount\n"
	if err := os.WriteFile(p, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	id1 := mountVersionID()
	out, err := e.s3.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("xview"), Key: aws.String("doc.txt")})
	must(t, err, "GetObject right after close")
	raw, err := io.ReadAll(out.Body)
	out.Body.Close()
	must(t, err, "read GET body")
	body := string(raw)
	sum := md5.Sum([]byte(v1))
	if body != v1 {
		t.Errorf("GET after close: %q, want %q", body, v1)
	}
	if got, want := aws.ToString(out.ETag), `"`+hex.EncodeToString(sum[:])+`"`; got != want {
		t.Errorf("ETag %s, want the MD5 %s", got, want)
	}
	if got := aws.ToString(out.VersionId); got != id1 {
		t.Errorf("GET version id %s, the mount shows %s", got, id1)
	}

	// An object PUT over S3 is readable through the mount within 1 s (the
	// attribute timeout).
	v2 := "written over S3, a little longer\n"
	id2 := e.s3.put(t, "xview", "doc.txt", v2)
	put := time.Now()
	for {
		b, err := os.ReadFile(p)
		if err == nil && string(b) == v2 {
			break
		}
		if time.Since(put) > time.Second {
			t.Fatalf("1 s after the PUT the mount reads %q (%v), want %q", b, err, v2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("S3 PUT seen in the mount after %v", time.Since(put).Round(time.Millisecond))
	if got := mountVersionID(); got != id2 {
		t.Errorf("mount version id %s after the PUT of %s", got, id2)
	}

	// Versions made in either view, interleaved: an overwrite and an append
	// in the mount, a PUT over S3.
	v3 := "overwritten in the mount\n"
	if err := os.WriteFile(p, []byte(v3), 0o644); err != nil {
		t.Fatal(err)
	}
	id3 := mountVersionID()
	v4 := "put again over S3\n"
	id4 := e.s3.put(t, "xview", "doc.txt", v4)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("appended in the mount\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	v5 := v4 + "appended in the mount\n"
	id5 := mountVersionID()

	want := []struct{ id, body string }{{id5, v5}, {id4, v4}, {id3, v3}, {id2, v2}, {id1, v1}}
	lv, err := e.s3.Client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("xview"), Prefix: aws.String("doc.txt")})
	must(t, err, "ListObjectVersions")
	if len(lv.Versions) != len(want) {
		t.Fatalf("ListObjectVersions: %d versions, want %d", len(lv.Versions), len(want))
	}
	view := viewNames(t, e.vp("xview", "doc.txt"))
	for i, w := range want {
		got := lv.Versions[i]
		if aws.ToString(got.VersionId) != w.id {
			t.Errorf("version %d: ListObjectVersions has %s, the views made %s", i, aws.ToString(got.VersionId), w.id)
		}
		if i < len(view) && view[i] != w.id {
			t.Errorf("version %d: the versions view lists %s, want %s", i, view[i], w.id)
		}
		if latest := aws.ToBool(got.IsLatest); latest != (i == 0) {
			t.Errorf("version %d: IsLatest %v", i, latest)
		}
		if b := e.s3.getBody(t, "xview", "doc.txt", w.id); b != w.body {
			t.Errorf("GET version %s: %q, want %q", w.id, b, w.body)
		}
		if b, err := os.ReadFile(e.vp("xview", "doc.txt", w.id)); err != nil || string(b) != w.body {
			t.Errorf("versions view %s: %q %v, want %q", w.id, b, err, w.body)
		}
	}
	if len(view) != len(want) {
		t.Errorf("the versions view lists %d versions, want %d", len(view), len(want))
	}
}
