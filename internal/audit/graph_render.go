package audit

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteMermaid writes g as a Mermaid flowchart, for a pull request
// description: declared dependencies as solid arrows, implicit ones
// (in the code, not in the config) as thick red arrows, unused ones (in the
// config, not in the code) as dotted grey arrows.
func WriteMermaid(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := map[string]string{}
	for i, n := range g.Nodes {
		id := fmt.Sprintf("n%d", i)
		ids[n.Name] = id
		label := n.Name
		if len(n.Serves) > 0 {
			label += "<br/><small>" + strings.Join(n.Serves, "<br/>") + "</small>"
		}
		shape := `["%s"]`
		if n.Package == "" {
			shape = `(["%s"])` // outside the audited code
		}
		fmt.Fprintf(&b, "  %s"+shape+"\n", id, strings.ReplaceAll(label, `"`, "#quot;"))
	}
	var implicit, unused []string
	for i, e := range g.Edges {
		switch e.Kind {
		case EdgeDeclared:
			fmt.Fprintf(&b, "  %s --> %s\n", ids[e.From], ids[e.To])
		case EdgeImplicit:
			fmt.Fprintf(&b, "  %s ==>|implicit| %s\n", ids[e.From], ids[e.To])
			implicit = append(implicit, fmt.Sprint(i))
		case EdgeUnused:
			fmt.Fprintf(&b, "  %s -.->|unused| %s\n", ids[e.From], ids[e.To])
			unused = append(unused, fmt.Sprint(i))
		}
	}
	if len(implicit) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:#d62728,stroke-width:3px\n", strings.Join(implicit, ","))
	}
	if len(unused) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:#999999,stroke-dasharray:4\n", strings.Join(unused, ","))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Layout constants of the HTML report's SVG.
const (
	nodeWidth, nodeHeight = 200, 56
	columnGap, rowGap     = 110, 36
	margin                = 24
)

type svgNode struct {
	Node
	X, Y int
}

type svgEdge struct {
	Edge
	Path string
}

// layout places nodes in columns by their depth in the call graph (callers
// left of callees; cycles are cut at the first revisit) and draws each edge
// as a curve from its caller's right side to its callee's left side.
func layout(g *Graph) ([]svgNode, []svgEdge, int, int) {
	depth := map[string]int{}
	for _, n := range g.Nodes {
		depth[n.Name] = 0
	}
	// Longest path from any caller, bounded by the node count so cycles end.
	for range len(g.Nodes) {
		changed := false
		for _, e := range g.Edges {
			if d := depth[e.From] + 1; d > depth[e.To] && d < len(g.Nodes) {
				depth[e.To], changed = d, true
			}
		}
		if !changed {
			break
		}
	}
	rows := map[int]int{}
	pos := map[string][2]int{}
	var nodes []svgNode
	width, height := 0, 0
	for _, n := range g.Nodes {
		col := depth[n.Name]
		x := margin + col*(nodeWidth+columnGap)
		y := margin + rows[col]*(nodeHeight+rowGap)
		rows[col]++
		pos[n.Name] = [2]int{x, y}
		nodes = append(nodes, svgNode{Node: n, X: x, Y: y})
		width, height = max(width, x+nodeWidth+margin), max(height, y+nodeHeight+margin)
	}
	var edges []svgEdge
	for _, e := range g.Edges {
		from, to := pos[e.From], pos[e.To]
		x1, y1 := from[0]+nodeWidth, from[1]+nodeHeight/2
		x2, y2 := to[0], to[1]+nodeHeight/2
		if x2 <= x1 { // a back edge (cycle) or a same-column edge: loop below
			x2, y2 = to[0]+nodeWidth/2, to[1]+nodeHeight
			x1, y1 = from[0]+nodeWidth/2, from[1]+nodeHeight
			edges = append(edges, svgEdge{Edge: e, Path: fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, x1, y1+60, x2, y2+60, x2, y2)})
			height = max(height, max(y1, y2)+60+margin)
			continue
		}
		mid := (x1 + x2) / 2
		edges = append(edges, svgEdge{Edge: e, Path: fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, mid, y1, mid, y2, x2, y2)})
	}
	return nodes, edges, width, height
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>govern fleet map</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
svg .node rect { fill: #eef4fb; stroke: #3b6ea5; stroke-width: 1.5; }
svg .node.external rect { fill: #f4f4f4; stroke: #888; stroke-dasharray: 5 3; }
svg .node text { font-size: 13px; }
svg .node text.serves { font-size: 10px; fill: #555; }
svg .edge { fill: none; stroke-width: 2; }
svg .edge.declared { stroke: #333; }
svg .edge.implicit { stroke: #d62728; stroke-width: 3.5; }
svg .edge.unused { stroke: #999; stroke-dasharray: 4 4; }
table { border-collapse: collapse; margin-top: 16px; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; font-size: 13px; }
tr.implicit td { color: #d62728; }
tr.unused td { color: #777; }
</style>
</head>
<body>
<h1>Fleet map</h1>
<p>{{len .Nodes}} services, {{len .Edges}} dependencies: <b>{{.Implicit}}</b> implicit (in the code, not declared in upstreams: red), <b>{{.Unused}}</b> declared but unused (grey, dotted).</p>
<svg id="fleet-map" xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="fleet map">
<defs>
{{- range .Kinds}}
<marker id="arrow-{{.}}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead-{{.}}"/></marker>
{{- end}}
</defs>
<style>.arrowhead-declared{fill:#333}.arrowhead-implicit{fill:#d62728}.arrowhead-unused{fill:#999}</style>
{{- range .SVGEdges}}
<path class="edge {{.Kind}}" data-from="{{.From}}" data-to="{{.To}}" d="{{.Path}}" marker-end="url(#arrow-{{.Kind}})"><title>{{.From}} → {{.To}} ({{.Kind}})</title></path>
{{- end}}
{{- range .SVGNodes}}
<g class="node{{if not .Package}} external{{end}}" data-name="{{.Name}}" transform="translate({{.X}},{{.Y}})">
<rect width="200" height="56" rx="8"/>
<text x="10" y="22">{{.Name}}</text>
{{- range $i, $s := .Serves}}{{if lt $i 2}}<text class="serves" x="10" y="{{if eq $i 0}}38{{else}}50{{end}}">{{$s}}</text>{{end}}{{end}}
</g>
{{- end}}
</svg>
<table>
<tr><th>from</th><th>to</th><th>kind</th><th>via</th><th>where</th></tr>
{{- range .Edges}}
<tr class="{{.Kind}}"><td>{{.From}}</td><td>{{.To}}</td><td>{{.Kind}}</td><td>{{range $i, $v := .Via}}{{if $i}}, {{end}}{{$v}}{{end}}</td><td>{{.Pos}}</td></tr>
{{- end}}
</table>
</body>
</html>
`))

// WriteHTML writes g as a self-contained HTML report: the map as inline
// SVG laid out in Go (no script: Mermaid's renderer is a multi-megabyte
// JavaScript bundle that would have to be vendored, and the report must
// open offline and in CI) and a table of every edge with where it was
// found.
func WriteHTML(w io.Writer, g *Graph) error {
	nodes, edges, width, height := layout(g)
	data := struct {
		*Graph
		SVGNodes         []svgNode
		SVGEdges         []svgEdge
		Width, Height    int
		Implicit, Unused int
		Kinds            []EdgeKind
	}{Graph: g, SVGNodes: nodes, SVGEdges: edges, Width: width, Height: height, Kinds: []EdgeKind{EdgeDeclared, EdgeImplicit, EdgeUnused}}
	for _, e := range g.Edges {
		switch e.Kind {
		case EdgeImplicit:
			data.Implicit++
		case EdgeUnused:
			data.Unused++
		}
	}
	return reportTemplate.Execute(w, data)
}
