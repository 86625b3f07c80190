package govgen

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Diagnostic is one problem found in the govern policy of an API
// definition: a proto file's options or an OpenAPI document's x-govern.
type Diagnostic struct {
	// File is the proto file's path as protoc knows it ("order/v1/order.proto"),
	// or the OpenAPI document's path.
	File string
	// Line and Col are 1-based; they point at the most specific option
	// the source info records (protoc records whole option statements, so an
	// error inside an option's {...} literal points at the statement).
	Line, Col int
	// Message says what is wrong and how to fix it.
	Message string
}

// String formats d as "file.proto:line:col: message", the form editors and
// CI annotations understand.
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Message)
}

// Diagnostics is every problem of a generation run; as an error it reads as
// one problem per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// diagnostics collects problems of one file, deduplicated (a file-level
// option inherited by many methods is reported once) and sorted by position.
type diagnostics struct {
	file   string
	locate func(path []int32) (line, col int)
	list   Diagnostics
	seen   map[Diagnostic]bool
}

func newDiagnostics(f *protogen.File) *diagnostics {
	return NewDiagnoser(f.Desc.Path(), func(path []int32) (int, int) { return position(f, path) }).d
}

// Diagnoser collects the problems of one API definition file for the
// shared resolver (ResolvePolicy, CheckPolicy). Paths are source paths: a
// Scope's Path followed by govern.v1 field numbers; locate maps one to a
// 1-based line and column. The proto path uses SourceCodeInfo paths; the
// OpenAPI path maps them to YAML nodes.
type Diagnoser struct{ d *diagnostics }

// NewDiagnoser returns a Diagnoser reporting problems of file at the
// positions locate gives.
func NewDiagnoser(file string, locate func(path []int32) (line, col int)) *Diagnoser {
	return &Diagnoser{d: &diagnostics{file: file, locate: locate, seen: map[Diagnostic]bool{}}}
}

// Errorf records a problem at a source path.
func (x *Diagnoser) Errorf(path []int32, format string, args ...any) {
	x.d.errorf(path, format, args...)
}

// Diagnostics returns the problems recorded so far, sorted by position.
func (x *Diagnoser) Diagnostics() Diagnostics { return x.d.sorted() }

// errorf records a problem at the source path, falling back to the closest
// enclosing element that has a recorded location.
func (d *diagnostics) errorf(path []int32, format string, args ...any) {
	line, col := d.locate(path)
	diag := Diagnostic{File: d.file, Line: line, Col: col, Message: fmt.Sprintf(format, args...)}
	if d.seen[diag] {
		return
	}
	d.seen[diag] = true
	d.list = append(d.list, diag)
}

func (d *diagnostics) sorted() Diagnostics {
	slices.SortStableFunc(d.list, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return d.list
}

func position(f *protogen.File, path []int32) (line, col int) {
	locs := f.Desc.SourceLocations()
	for n := len(path); n > 0; n-- {
		loc := locs.ByPath(protoreflect.SourcePath(path[:n]))
		if loc.Path != nil {
			return loc.StartLine + 1, loc.StartColumn + 1
		}
	}
	return 1, 1
}

// join returns a new path: base followed by rest.
func join(base []int32, rest ...int32) []int32 {
	out := make([]int32, 0, len(base)+len(rest))
	return append(append(out, base...), rest...)
}
