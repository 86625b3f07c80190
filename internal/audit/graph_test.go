package audit

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/govkit/govern/internal/golden"
	"github.com/govkit/govern/internal/tooltest"
)

// graphFleet copies testdata/graphfleet into a temp module (see fleet) and
// builds its map: gateway (config name "edge") calls order, declared; order
// calls payment (declared) and inventory (not declared: implicit) and
// declares shipping, which nothing dials (unused).
func graphFleet(t *testing.T) *Graph {
	t.Helper()
	if testing.Short() {
		t.Skip("loads a module with go/packages")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "graphfleet")
	if err := os.CopyFS(dir, os.DirFS("testdata/graphfleet")); err != nil {
		t.Fatal(err)
	}
	writeModule(t, dir, "example.com/graphfleet", root)
	g, err := BuildGraph(t.Context(), Config{Dir: dir, Env: append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGraph(t *testing.T) {
	g := graphFleet(t)
	var got []string
	for _, e := range g.Edges {
		got = append(got, e.From+" -> "+e.To+" "+string(e.Kind)+" via "+strings.Join(e.Via, ",")+" at "+e.Pos)
	}
	want := []string{
		"edge -> order declared via order.v1.OrderService at cmd/gateway/main.go:20:6",
		"order -> inventory implicit via inventory.v1.InventoryService at cmd/order/main.go:24:6",
		"order -> payment declared via payment.v1.PaymentService at cmd/order/main.go:23:6",
		"order -> shipping unused via shipping at cmd/order/config.yaml:6",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(g.Problems()); n != 2 {
		t.Errorf("%d problems, want the implicit and the unused edge: %q", n, g.Problems())
	}
	var mermaid, html bytes.Buffer
	if err := WriteMermaid(&mermaid, g); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, g); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/graphfleet.mmd.golden", mermaid.Bytes())
	golden.Check(t, "testdata/graphfleet.html.golden", html.Bytes())
}

// TestGraphHTMLRendersInChromium opens the HTML report in headless
// Chromium: the dumped DOM holds the map's nodes and edges, and the
// screenshot (kept in the test's output directory) shows the implicit
// edge in its red.
func TestGraphHTMLRendersInChromium(t *testing.T) {
	chromium := tooltest.Need(t, "chromium", "chromium")
	g := graphFleet(t)
	dir := t.TempDir()
	if out := os.Getenv("GOVERN_TEST_OUTPUT"); out != "" {
		dir = out // keep the screenshot: GOVERN_TEST_OUTPUT=/some/dir go test ...
	}
	page := filepath.Join(dir, "map.html")
	var html bytes.Buffer
	if err := WriteHTML(&html, g); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, html.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) []byte {
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir()}, extra...)
		cmd := exec.CommandContext(t.Context(), chromium, append(args, "file://"+page)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("chromium %v: %v\n%s", extra, err, stderr.Bytes()) // Errorf: also called from a goroutine
		}
		return stdout.Bytes()
	}
	// Two Chromium runs, concurrently: the DOM as rendered, and a
	// screenshot.
	shot := filepath.Join(dir, "map.png")
	var dumped []byte
	var wg sync.WaitGroup
	wg.Go(func() { dumped = run("--dump-dom") })
	run("--screenshot="+shot, "--window-size=1200,800")
	wg.Wait()
	dom := string(dumped)
	if n := strings.Count(dom, `<g class="node`); n != len(g.Nodes) {
		t.Errorf("rendered DOM has %d nodes, want %d", n, len(g.Nodes))
	}
	if !strings.Contains(dom, `class="edge implicit"`) || !strings.Contains(dom, `class="edge unused"`) {
		t.Error("rendered DOM lacks the implicit or the unused edge")
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The node boxes' fill exists only in the SVG: five 200x56 boxes
	// (less their borders) when the map is drawn.
	if fill := countNear(img, 0xee, 0xf4, 0xfb) + countNear(img, 0xf4, 0xf4, 0xf4); fill < 40000 {
		t.Errorf("screenshot %s shows %d pixels of node fill, want the 5 node boxes: the map is not visible", shot, fill)
	}
	if red := countNear(img, 0xd6, 0x27, 0x28); red < 100 {
		t.Errorf("screenshot %s shows %d pixels of the implicit edge's red", shot, red)
	}
	t.Logf("screenshot: %s", shot)
}

// countNear counts pixels within a small distance of the colour r,g,b.
func countNear(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr>>8, r) && near(pg>>8, g) && near(pb>>8, b) {
				n++
			}
		}
	}
	return n
}

func near(v uint32, want uint8) bool {
	d := int(v) - int(want)
	return d > -6 && d < 6
}
