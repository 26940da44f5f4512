package fs

import (
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wormfs/wormfs/xattr"
)

// FuzzParseInstant: an at-view name that parses is plain ASCII, and names
// one instant however it is spelled: the lower-case spelling RFC 3339
// allows and the canonical RFC3339Nano formatting of the instant (itself
// a valid name) both read back the same instant.
func FuzzParseInstant(f *testing.F) {
	for _, s := range []string{"2026-01-02T03:04:05Z", "2026-01-02t03:04:05z", "2026-01-02T03:04:05.123456789+05:30",
		"2026-01-02T03:04:05.1-00:00", "2026-01-02 03:04:05Z", "2026-01-02T03:04:05", "2026-01-02", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999Z", "2026-02-30T00:00:00Z", "2026-01-02T24:00:00Z", "2026-01-02T03:04:60Z",
		"2026-01-02T03:04:05+24:00", "2026-01-02T03:04:05,5Z", "2026-01-02T03:04:05.Z", "ſ", "", "now"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		at, ok := parseInstant(name)
		if !ok {
			if !at.IsZero() {
				t.Fatalf("parseInstant(%q) refused it but returned %v", name, at)
			}
			return
		}
		for i := 0; i < len(name); i++ {
			if name[i] >= utf8.RuneSelf {
				t.Fatalf("parseInstant accepted the non-ASCII name %q", name)
			}
		}
		if lower, ok := parseInstant(strings.ToLower(name)); !ok || !lower.Equal(at) {
			t.Fatalf("parseInstant(%q) = %v, but its lower-case spelling reads %v, %v", name, at, lower, ok)
		}
		canon := at.Format(time.RFC3339Nano)
		if checkName(canon) != 0 {
			t.Fatalf("parseInstant(%q) = %v, formatted as the invalid name %q", name, at, canon)
		}
		if back, ok := parseInstant(canon); !ok || !back.Equal(at) {
			t.Fatalf("parseInstant(%q) = %v; formatted as %q it reads %v, %v", name, at, canon, back, ok)
		}
	})
}

// FuzzXattrNames covers how the mount vets the names and values it is
// given:
//   - checkName accepts exactly the 1 to 255 byte names without '/' or
//     NUL, and says ENAMETOOLONG only for long ones;
//   - userKey maps a user.* attribute to the lower-cased part after
//     "user.", a non-empty HTTP token, and listing it (as Listxattr does,
//     "user." + key) gives a name that maps back to the same key (but for
//     the known "s3." exemption below);
//   - checkUserValue accepts exactly UTF-8 text without control characters
//     (tab allowed) of at most maxUserMetaValue bytes.
func FuzzXattrNames(f *testing.F) {
	f.Add("user.color", []byte("blue"))
	f.Add("user.Color", []byte("tab\there"))
	f.Add("user.", []byte("line\nbreak"))
	f.Add("user.a b", []byte("\x7f"))
	f.Add("user.s3.retention", []byte("\xff"))
	f.Add("user.S3.Retention", []byte("x"))
	f.Add("security.capability", []byte(strings.Repeat("v", maxUserMetaValue+1)))
	f.Add("trusted.x", []byte("é"))
	f.Add("user.x\x00y", []byte{})
	f.Add("a/b", []byte("\u0085"))
	f.Add(strings.Repeat("n", 256), []byte(strings.Repeat("é", maxUserMetaValue/2)))
	f.Add("user."+strings.Repeat("k", 250), []byte(nil))
	f.Fuzz(func(t *testing.T, name string, value []byte) {
		// checkName
		errno := checkName(name)
		nameOK := name != "" && len(name) <= 255 && !strings.ContainsAny(name, "/\x00")
		if (errno == 0) != nameOK || errno == syscall.ENAMETOOLONG && len(name) <= 255 || errno != 0 && errno != syscall.EINVAL && errno != syscall.ENAMETOOLONG {
			t.Fatalf("checkName(%q) = %v", name, errno)
		}

		// checkUserValue
		valueOK := len(value) <= maxUserMetaValue && utf8.Valid(value)
		for _, c := range value {
			valueOK = valueOK && (c >= 0x20 || c == '\t') && c != 0x7f
		}
		errno = checkUserValue(value)
		if (errno == 0) != valueOK || errno == syscall.E2BIG && len(value) <= maxUserMetaValue || errno != 0 && errno != syscall.EINVAL && errno != syscall.E2BIG {
			t.Fatalf("checkUserValue(%q) = %v", value, errno)
		}

		// userKey
		k, errno := userKey(name)
		if errno != 0 {
			if errno != syscall.ENOTSUP || k != "" {
				t.Fatalf("userKey(%q) = %q, %v", name, k, errno)
			}
		} else {
			if xattr.ClassifyName(name) != xattr.KindUser || k == "" || k != strings.ToLower(name[len("user."):]) {
				t.Fatalf("userKey(%q) = %q", name, k)
			}
			for i := 0; i < len(k); i++ {
				if c := k[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 || 'A' <= c && c <= 'Z' {
					t.Fatalf("userKey(%q) = %q, not a lower-case HTTP token", name, k)
				}
			}
			if strings.HasPrefix(k, "s3.") {
				t.Fatalf("userKey(%q) = %q: a key in the reserved s3. space", name, k)
			}
			listed := "user." + k
			if k2, errno := userKey(listed); errno != 0 || k2 != k {
				t.Fatalf("userKey(%q) = %q, but the listed name %q maps to %q, %v", name, k, listed, k2, errno)
			}
		}
	})
}
