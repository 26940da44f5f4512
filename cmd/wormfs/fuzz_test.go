package main

import (
	"math/big"
	"regexp"
	"strconv"
	"testing"
)

// fuzzSizeSyntax is what parseSize's doc comment promises to read: a
// decimal number and an optional binary unit, with white space (Unicode's,
// as strings.TrimSpace sees it) around and between them.
var fuzzSizeSyntax = regexp.MustCompile(`^[\pZ\t\n\v\f\r\x{85}]*([+-]?[0-9]+)[\pZ\t\n\v\f\r\x{85}]*(TiB|GiB|MiB|KiB|T|G|M|K|B)?[\pZ\t\n\v\f\r\x{85}]*$`)

var fuzzSizeUnits = map[string]int64{"": 1, "B": 1, "K": 1 << 10, "KiB": 1 << 10, "M": 1 << 20, "MiB": 1 << 20,
	"G": 1 << 30, "GiB": 1 << 30, "T": 1 << 40, "TiB": 1 << 40}

// FuzzParseSize: parseSize accepts exactly the sizes of its syntax whose
// value, computed without overflow, lies in [0, 2^62], and returns that
// value; an accepted size reads back the same written as plain bytes and
// in the largest unit that divides it.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "256MiB", "1GiB", " 2 T ", "4K", "10B", "-1", "-0", "+5M", "1.5GiB", "GiB", "",
		"1KiBB", "1kib", "4611686018427387904", "4611686018427387905", "4194304TiB", "4194305TiB", "9223372036854775807",
		"99999999999999999999", "1_000", "0x10", "1\u00a0MiB", "\u20281K\u2029"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSize(s)

		want, ok := big.NewInt(0), false
		if m := fuzzSizeSyntax.FindStringSubmatch(s); m != nil {
			n, _ := new(big.Int).SetString(m[1], 10)
			want.Mul(n, big.NewInt(fuzzSizeUnits[m[2]]))
			ok = want.Sign() >= 0 && want.Cmp(big.NewInt(1<<62)) <= 0
		}
		if (err == nil) != ok || ok && v != want.Int64() {
			t.Fatalf("parseSize(%q) = %d, %v; want %v (valid %v)", s, v, err, want, ok)
		}
		if err != nil {
			if v != 0 {
				t.Fatalf("parseSize(%q) failed but returned %d", s, v)
			}
			return
		}
		if v < 0 || v > 1<<62 {
			t.Fatalf("parseSize(%q) = %d", s, v)
		}
		if back, err := parseSize(strconv.FormatInt(v, 10)); err != nil || back != v {
			t.Fatalf("parseSize(%q) = %d, but %d reads %d, %v", s, v, v, back, err)
		}
		for _, u := range []struct {
			name  string
			shift uint
		}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
			if v != 0 && v%(1<<u.shift) == 0 {
				in := strconv.FormatInt(v>>u.shift, 10) + u.name
				if back, err := parseSize(in); err != nil || back != v {
					t.Fatalf("parseSize(%q) = %d, but %q reads %d, %v", s, v, in, back, err)
				}
				break
			}
		}
	})
}
