package policy

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a compiled wildcard string: '*' matches any run of
// characters (including none, and '/'), '?' exactly one character, and a
// policy variable ${key} the request's value of key, literally.
type pattern struct {
	toks   []ptok
	vars   bool   // holds a variable: expand before matching
	lit    string // the whole pattern when it has no wildcard and no variable
	isLit  bool
	source string
}

type ptokKind byte

const (
	tLit  ptokKind = iota // text
	tStar                 // *
	tOne                  // ?
	tVar                  // ${key}
)

type ptok struct {
	kind ptokKind
	text string // tLit: the text; tVar: the lower-case key
}

// compilePattern compiles s. withVars: ${…} is a policy variable (Version
// 2012-10-17); otherwise "${" is literal text. fold lower-cases literal
// text (action names are matched case-insensitively).
func compilePattern(s string, withVars, fold bool) (pattern, error) {
	p := pattern{source: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t := lit.String()
			if fold {
				t = strings.ToLower(t)
			}
			p.toks = append(p.toks, ptok{kind: tLit, text: t})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '*':
			flush()
			p.toks = append(p.toks, ptok{kind: tStar})
		case c == '?':
			flush()
			p.toks = append(p.toks, ptok{kind: tOne})
		case c == '$' && withVars && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return p, errorf("policy variable in %q is not closed with }", trim(s))
			}
			name := s[i+2 : i+end]
			switch name {
			case "*", "?", "$":
				lit.WriteString(name)
			default:
				key, err := conditionKey(name)
				if err != nil {
					return p, errorf("policy variable ${%s} in %q: %v", trim(name), trim(s), err)
				}
				flush()
				p.toks = append(p.toks, ptok{kind: tVar, text: key})
				p.vars = true
			}
			i += end
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	if len(p.toks) == 0 {
		p.isLit, p.lit = true, ""
	} else if len(p.toks) == 1 && p.toks[0].kind == tLit {
		p.isLit, p.lit = true, p.toks[0].text
	}
	return p, nil
}

// hasWildcard reports whether p holds * or ?.
func (p *pattern) hasWildcard() bool {
	for _, t := range p.toks {
		if t.kind == tStar || t.kind == tOne {
			return true
		}
	}
	return false
}

// match reports whether s matches p, with variables taken from ctx. A
// variable whose key the request lacks makes the pattern match nothing
// (AWS: the element does not match).
func (p *pattern) match(s string, ctx Context) bool {
	if p.isLit {
		return s == p.lit
	}
	toks := p.toks
	if p.vars {
		exp := make([]ptok, 0, len(toks))
		for _, t := range toks {
			if t.kind != tVar {
				exp = append(exp, t)
				continue
			}
			v, ok := ctx[t.text]
			if !ok || len(v) != 1 {
				return false
			}
			exp = append(exp, ptok{kind: tLit, text: v[0]})
		}
		toks = exp
	}
	return matchToks(toks, s)
}

// matchToks is the classic linear wildcard match with one backtrack
// point (the last '*'): O(len(toks)·len(s)) at worst, never exponential.
func matchToks(toks []ptok, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case tStar:
				starT, starS = ti, si
				ti++
				continue
			case tOne:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			case tLit:
				if strings.HasPrefix(s[si:], t.text) {
					si += len(t.text)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		// Let the last '*' take one more character and retry.
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		ti, si = starT+1, starS
	}
}

// trim shortens user input for messages.
func trim(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
