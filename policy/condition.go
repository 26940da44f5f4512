package policy

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opFamily is the type of comparison an operator makes.
type opFamily byte

const (
	famString opFamily = iota
	famNumeric
	famDate
	famBool
	famIP
	famNull
)

// opRel is the relation an operator tests.
type opRel byte

const (
	relEq opRel = iota
	relEqFold
	relLike
	relLt
	relLe
	relGt
	relGe
)

type opDef struct {
	fam    opFamily
	rel    opRel
	negate bool
}

// operators are the base condition operators (without ForAnyValue: /
// ForAllValues: and without IfExists).
var operators = map[string]opDef{
	"StringEquals":              {famString, relEq, false},
	"StringNotEquals":           {famString, relEq, true},
	"StringEqualsIgnoreCase":    {famString, relEqFold, false},
	"StringNotEqualsIgnoreCase": {famString, relEqFold, true},
	"StringLike":                {famString, relLike, false},
	"StringNotLike":             {famString, relLike, true},
	"NumericEquals":             {famNumeric, relEq, false},
	"NumericNotEquals":          {famNumeric, relEq, true},
	"NumericLessThan":           {famNumeric, relLt, false},
	"NumericLessThanEquals":     {famNumeric, relLe, false},
	"NumericGreaterThan":        {famNumeric, relGt, false},
	"NumericGreaterThanEquals":  {famNumeric, relGe, false},
	"DateEquals":                {famDate, relEq, false},
	"DateNotEquals":             {famDate, relEq, true},
	"DateLessThan":              {famDate, relLt, false},
	"DateLessThanEquals":        {famDate, relLe, false},
	"DateGreaterThan":           {famDate, relGt, false},
	"DateGreaterThanEquals":     {famDate, relGe, false},
	"Bool":                      {famBool, relEq, false},
	"IpAddress":                 {famIP, relEq, false},
	"NotIpAddress":              {famIP, relEq, true},
	"Null":                      {famNull, relEq, false},
}

type qualifier byte

const (
	qualNone qualifier = iota
	qualAny
	qualAll
)

// condition is one (operator, key, values) entry of a Condition block.
type condition struct {
	op       string // as written, for messages
	def      opDef
	qual     qualifier
	ifExists bool
	key      string // lower case

	strs  []string  // famString relEq / relEqFold (folded)
	pats  []pattern // famString relLike, and relEq with variables
	nums  []float64
	dates []time.Time
	bools []bool // famBool, famNull
	nets  []netip.Prefix
}

// parseOperator splits "ForAllValues:StringLikeIfExists".
func parseOperator(name string) (opDef, qualifier, bool, error) {
	q := qualNone
	base := name
	if s, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		q, base = qualAny, s
	} else if s, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		q, base = qualAll, s
	}
	ifExists := false
	if s, ok := strings.CutSuffix(base, "IfExists"); ok {
		ifExists, base = true, s
	}
	def, ok := operators[base]
	if !ok {
		return opDef{}, 0, false, errorf("unknown condition operator %q", trim(name))
	}
	if def.fam == famNull && (ifExists || q != qualNone) {
		return opDef{}, 0, false, errorf("condition operator %q: Null takes neither IfExists nor a ForAnyValue/ForAllValues qualifier", trim(name))
	}
	return def, q, ifExists, nil
}

// parseCondition reads one operator's block {"key": value-or-values, …}.
func parseCondition(opName string, v jvalue, withVars bool) ([]condition, error) {
	def, q, ifExists, err := parseOperator(opName)
	if err != nil {
		return nil, err
	}
	if v.kind != jObject {
		return nil, errorf("condition operator %s needs an object of keys, not %s", opName, v.kind)
	}
	if len(v.obj) == 0 {
		return nil, errorf("condition operator %s names no key", opName)
	}
	var out []condition
	seen := map[string]bool{}
	for _, f := range v.obj {
		key, err := conditionKey(f.name)
		if err != nil {
			return nil, errorf("%s: %v", opName, err)
		}
		if seen[key] {
			return nil, errorf("%s names key %q twice", opName, f.name)
		}
		seen[key] = true
		vals, err := scalars(f.val)
		if err != nil {
			return nil, errorf("%s %s: %v", opName, f.name, err)
		}
		c := condition{op: opName, def: def, qual: q, ifExists: ifExists, key: key}
		for _, s := range vals {
			if err := c.addValue(s, withVars); err != nil {
				return nil, errorf("%s %s: %v", opName, f.name, err)
			}
		}
		if def.fam == famNull && len(c.bools) != 1 {
			return nil, errorf("Null %s takes one value, true or false", f.name)
		}
		out = append(out, c)
	}
	return out, nil
}

// scalars reads a condition value: a string, number or boolean, or a
// non-empty array of them.
func scalars(v jvalue) ([]string, error) {
	switch v.kind {
	case jString, jNumber, jBool:
		return []string{v.text}, nil
	case jArray:
		if len(v.arr) == 0 {
			return nil, errorf("empty list of values")
		}
		out := make([]string, 0, len(v.arr))
		for _, e := range v.arr {
			if e.kind != jString && e.kind != jNumber && e.kind != jBool {
				return nil, errorf("a value must be a string, number or boolean, not %s", e.kind)
			}
			out = append(out, e.text)
		}
		return out, nil
	}
	return nil, errorf("a value must be a string, number, boolean or a list of them, not %s", v.kind)
}

func (c *condition) addValue(s string, withVars bool) error {
	switch c.def.fam {
	case famString:
		p, err := compilePattern(s, withVars, false)
		if err != nil {
			return err
		}
		switch {
		case c.def.rel == relLike:
			c.pats = append(c.pats, p)
		case p.vars:
			if c.def.rel == relEqFold {
				return errorf("policy variables are not supported in %s", c.op)
			}
			// Equality with a variable: '*' and '?' are literal.
			c.pats = append(c.pats, literalWithVars(p))
		case c.def.rel == relEqFold:
			c.strs = append(c.strs, strings.ToLower(literalText(p)))
		default:
			c.strs = append(c.strs, literalText(p))
		}
	case famNumeric:
		f, err := parseNumber(s)
		if err != nil {
			return errorf("%q is not a number", trim(s))
		}
		c.nums = append(c.nums, f)
	case famDate:
		t, err := parseDate(s)
		if err != nil {
			return errorf("%q is not a date (ISO 8601, e.g. 2026-01-01T00:00:00Z, or epoch seconds)", trim(s))
		}
		c.dates = append(c.dates, t)
	case famBool, famNull:
		b, err := parseBool(s)
		if err != nil {
			return errorf("%q is not true or false", trim(s))
		}
		c.bools = append(c.bools, b)
	case famIP:
		p, err := parseIPValue(s)
		if err != nil {
			return errorf("%q is not an IP address or CIDR block", trim(s))
		}
		c.nets = append(c.nets, p)
	}
	return nil
}

// literalText is the text of a pattern without variables, its wildcards
// taken literally.
func literalText(p pattern) string {
	var b strings.Builder
	for _, t := range p.toks {
		switch t.kind {
		case tStar:
			b.WriteByte('*')
		case tOne:
			b.WriteByte('?')
		default:
			b.WriteString(t.text)
		}
	}
	return b.String()
}

// literalWithVars turns the wildcards of p back into literal text.
func literalWithVars(p pattern) pattern {
	out := pattern{vars: true, source: p.source}
	for _, t := range p.toks {
		switch t.kind {
		case tStar:
			out.toks = append(out.toks, ptok{kind: tLit, text: "*"})
		case tOne:
			out.toks = append(out.toks, ptok{kind: tLit, text: "?"})
		default:
			out.toks = append(out.toks, t)
		}
	}
	return out
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errorf("not a number")
	}
	return f, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errorf("not a boolean")
}

// dateLayouts are the ISO 8601 forms accepted in Date conditions.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02",
}

// parseDate reads an ISO 8601 date or time, or epoch seconds.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < -1e11 || n > 1e11 {
			return time.Time{}, errorf("epoch out of range")
		}
		return time.Unix(n, 0).UTC(), nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errorf("not a date")
}

// parseIPValue reads "10.0.0.0/8", "2001:db8::/32" or a single address.
func parseIPValue(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// eval decides the condition against ctx, with AWS's rules for a missing
// key: Null true asks for it to be missing; …IfExists and ForAllValues
// hold; ForAnyValue does not; a negated operator holds; any other does not.
func (c *condition) eval(ctx Context) bool {
	vals := ctx[c.key]
	missing := len(vals) == 0
	if c.def.fam == famNull {
		return c.bools[0] == missing
	}
	if missing {
		switch {
		case c.ifExists:
			return true
		case c.qual == qualAll:
			return true
		case c.qual == qualAny:
			return false
		}
		return c.def.negate
	}
	switch c.qual {
	case qualAll:
		for _, v := range vals {
			if c.matchOne(v, ctx) == c.def.negate {
				return false
			}
		}
		return true
	case qualAny:
		for _, v := range vals {
			if c.matchOne(v, ctx) != c.def.negate {
				return true
			}
		}
		return false
	}
	// No qualifier: a positive operator holds when some request value
	// matches some policy value; a negated one when none does.
	for _, v := range vals {
		if c.matchOne(v, ctx) {
			return !c.def.negate
		}
	}
	return c.def.negate
}

// matchOne reports whether the request value v matches any of the policy
// values under the positive form of the operator.
func (c *condition) matchOne(v string, ctx Context) bool {
	switch c.def.fam {
	case famString:
		if c.def.rel == relEqFold {
			lv := strings.ToLower(v)
			for _, s := range c.strs {
				if s == lv {
					return true
				}
			}
			return false
		}
		for _, s := range c.strs {
			if s == v {
				return true
			}
		}
		for i := range c.pats {
			if c.pats[i].match(v, ctx) {
				return true
			}
		}
		return false
	case famNumeric:
		f, err := parseNumber(v)
		if err != nil {
			return false
		}
		for _, n := range c.nums {
			if compare(c.def.rel, cmpFloat(f, n)) {
				return true
			}
		}
		return false
	case famDate:
		t, err := parseDate(v)
		if err != nil {
			return false
		}
		for _, d := range c.dates {
			if compare(c.def.rel, t.Compare(d)) {
				return true
			}
		}
		return false
	case famBool:
		b, err := parseBool(v)
		if err != nil {
			return false
		}
		for _, x := range c.bools {
			if x == b {
				return true
			}
		}
		return false
	case famIP:
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, n := range c.nets {
			if n.Contains(a) {
				return true
			}
		}
		return false
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare reports whether cmp (request vs policy value) satisfies rel.
func compare(rel opRel, cmp int) bool {
	switch rel {
	case relEq:
		return cmp == 0
	case relLt:
		return cmp < 0
	case relLe:
		return cmp <= 0
	case relGt:
		return cmp > 0
	case relGe:
		return cmp >= 0
	}
	return false
}
