package golden

import (
	"fmt"
	"strings"
)

const (
	// diffContext is how many unchanged lines surround each change.
	diffContext = 3
	// diffMaxCells bounds the longest-common-subsequence table; a larger
	// change is shown as the whole differing block removed and added.
	diffMaxCells = 4 << 20
	// diffMaxLines bounds the printed diff so a rewritten file does not
	// flood the test log.
	diffMaxLines = 200
)

// op is one line of a diff: ' ' unchanged, '-' only in want, '+' only in got.
type op struct {
	kind byte
	line string
	// wantLine and gotLine are the 1-based line numbers before the line.
	wantLine, gotLine int
}

// Diff returns a line diff of want and got in the unified style ("-" want,
// "+" got, three lines of context, "@@ -want +got @@" hunk headers), or ""
// when they are equal.
func Diff(want, got string) string {
	if want == got {
		return ""
	}
	ops := diffLines(strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n"))
	var b strings.Builder
	printed := 0
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-diffContext, 0)
		end := i
		// Extend the hunk while the next change is within twice the context.
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
			} else if j-end >= 2*diffContext {
				break
			}
		}
		end = min(end+diffContext, len(ops))
		fmt.Fprintf(&b, "@@ -%d +%d @@\n", ops[start].wantLine, ops[start].gotLine)
		for _, o := range ops[start:end] {
			if printed == diffMaxLines {
				fmt.Fprintf(&b, "... diff truncated after %d lines\n", diffMaxLines)
				return b.String()
			}
			printed++
			text, cut := strings.CutSuffix(o.line, "\n")
			b.WriteByte(o.kind)
			b.WriteByte(' ')
			b.WriteString(text)
			if !cut {
				b.WriteString(" (no newline at end of file)")
			}
			b.WriteByte('\n')
		}
		i = end
	}
	return b.String()
}

// diffLines aligns want and got on a longest common subsequence of lines
// after trimming their common prefix and suffix.
func diffLines(want, got []string) []op {
	// SplitAfter leaves an empty last element after a final newline.
	if n := len(want); n > 0 && want[n-1] == "" {
		want = want[:n-1]
	}
	if n := len(got); n > 0 && got[n-1] == "" {
		got = got[:n-1]
	}
	prefix := 0
	for prefix < len(want) && prefix < len(got) && want[prefix] == got[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(want)-prefix && suffix < len(got)-prefix &&
		want[len(want)-1-suffix] == got[len(got)-1-suffix] {
		suffix++
	}
	a, b := want[prefix:len(want)-suffix], got[prefix:len(got)-suffix]

	ops := make([]op, 0, len(want)+len(got))
	wl, gl := 1, 1
	emit := func(kind byte, line string) {
		ops = append(ops, op{kind: kind, line: line, wantLine: wl, gotLine: gl})
		if kind != '+' {
			wl++
		}
		if kind != '-' {
			gl++
		}
	}
	for _, l := range want[:prefix] {
		emit(' ', l)
	}
	if (len(a)+1)*(len(b)+1) > diffMaxCells {
		for _, l := range a {
			emit('-', l)
		}
		for _, l := range b {
			emit('+', l)
		}
	} else {
		// lcs[i][j] is the LCS length of a[i:] and b[j:].
		w := len(b) + 1
		lcs := make([]int32, (len(a)+1)*w)
		for i := len(a) - 1; i >= 0; i-- {
			for j := len(b) - 1; j >= 0; j-- {
				if a[i] == b[j] {
					lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
				} else {
					lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(a) || j < len(b) {
			switch {
			case i < len(a) && j < len(b) && a[i] == b[j]:
				emit(' ', a[i])
				i, j = i+1, j+1
			case j == len(b) || (i < len(a) && lcs[(i+1)*w+j] >= lcs[i*w+j+1]):
				emit('-', a[i])
				i++
			default:
				emit('+', b[j])
				j++
			}
		}
	}
	for _, l := range want[len(want)-suffix:] {
		emit(' ', l)
	}
	return ops
}
