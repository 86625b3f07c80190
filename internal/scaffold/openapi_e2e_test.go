package scaffold

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/govkit/govern/internal/redistest"
)

// userService replaces the scaffolded stubs, as a user does: CreateOrder
// counts its runs and answers the count, so a replay shows the first run's
// number; GetOrder sleeps past its 200ms timeout for "slow" and fails for
// "fail".
const userService = `package service

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"example.com/orders/internal/api"
)

type Service struct{ runs atomic.Int64 }

func New() *Service { return &Service{} }

func (s *Service) CreateOrder(ctx context.Context, req api.CreateOrderRequestObject) (api.CreateOrderResponseObject, error) {
	n := s.runs.Add(1)
	time.Sleep(300 * time.Millisecond)
	id := "run-" + string(rune('0'+n))
	order := req.Body.Order
	order.Id = &id
	return api.CreateOrder201JSONResponse(order), nil
}

func (s *Service) GetOrder(ctx context.Context, req api.GetOrderRequestObject) (api.GetOrderResponseObject, error) {
	switch req.Id {
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "fail":
		return nil, errors.New("storage failed")
	}
	return api.GetOrder200JSONResponse{Sn: req.Id, Id: &req.Id}, nil
}
`

// TestOpenAPIEndToEnd scaffolds an HTTP-first service (with --redis) from
// examples/httporders/api.yaml, runs its own tests, replaces its stubs with
// code, builds and starts it, and drives every governance behaviour over
// real HTTP; runs two replicas sharing the test Redis; then regenerates and
// checks that only generated files change.
func TestOpenAPIEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs a generated service")
	}
	root, err := filepath.Abs(governRoot)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CGO_ENABLED", "0")
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=readonly -buildvcs=false")
	out := filepath.Join(t.TempDir(), "orders")
	res, err := NewService(t.Context(), Options{Name: "orders", Module: "example.com/orders", OutDir: out, GovernPath: root,
		FromOpenAPI: filepath.Join(root, "examples", "httporders", "api.yaml"), Redis: true})
	if err != nil {
		t.Fatal(err)
	}
	if git, err := exec.LookPath("git"); err == nil {
		skipUnlessCommitted(t, git, root, out)
	}
	if strings.Join(res.Generated, ",") != "internal/api/api.gen.go,internal/api/govern.gen.go" {
		t.Errorf("generated %v", res.Generated)
	}
	goCmd(t, out, "vet", "./...")
	goCmd(t, out, "test", "-count=1", "./...")

	if err := os.WriteFile(filepath.Join(out, "internal", "service", "service.go"), []byte(userService), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(out, "bin", "orders")
	goCmd(t, out, "build", "-o", bin, "./cmd/orders")
	addr, adminAddr := freeAddr(t), freeAddr(t)
	startProcess(t, out, bin, "-addr", addr, "-admin-addr", adminAddr)
	waitOK(t, "http://"+adminAddr+"/readyz")
	base := "http://" + addr

	type answer struct {
		status int
		header http.Header
		body   string
	}
	call := func(method, path, key, body string) answer {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return answer{}
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return answer{}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header, string(b)}
	}
	reason := func(a answer) string {
		var p struct{ Reason string }
		_ = json.Unmarshal([]byte(a.body), &p)
		return a.header.Get("Content-Type") + " " + p.Reason
	}

	// Concurrent duplicates: one run, the rest 409, then byte-identical replays.
	order := `{"client_id":"c1","order":{"sn":"A-1"}}`
	var wg sync.WaitGroup
	answers := make([]answer, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				time.Sleep(50 * time.Millisecond) // after the first has claimed the key
			}
			answers[i] = call("POST", "/orders", "dup-1", order)
		}()
	}
	wg.Wait()
	created, conflicts := 0, 0
	var first answer
	for _, a := range answers {
		switch a.status {
		case http.StatusCreated:
			created++
			first = a
		case http.StatusConflict:
			conflicts++
			if a.header.Get("Retry-After") == "" || reason(a) != "application/problem+json IDEMPOTENCY_IN_FLIGHT" {
				t.Errorf("409 without Retry-After or reason: %v %s", a.header, a.body)
			}
		}
	}
	if created != 1 || conflicts != len(answers)-1 {
		t.Fatalf("%d created, %d conflicts of %d concurrent duplicates: %+v", created, conflicts, len(answers), answers)
	}
	replay := call("POST", "/orders", "dup-1", order)
	if replay.status != http.StatusCreated || replay.body != first.body || !strings.Contains(first.body, `"run-1"`) {
		t.Fatalf("replay %d %s, want the first run's %s", replay.status, replay.body, first.body)
	}
	if a := call("POST", "/orders", "", order); a.status != http.StatusCreated || !strings.Contains(a.body, `"run-2"`) {
		t.Fatalf("a new derived key runs the handler a second time: %d %s", a.status, a.body)
	}
	if a := call("POST", "/orders", "", `{"client_id":"c1","order":{"sn":"A-1"}}`); !strings.Contains(a.body, `"run-2"`) {
		t.Errorf("same client_id + sn must replay run 2: %s", a.body)
	}
	if a := call("POST", "/orders", "dup-1", `{"client_id":"c1","order":{"sn":"B"}}`); a.status != 422 || !strings.HasSuffix(reason(a), "IDEMPOTENCY_KEY_REUSED") {
		t.Errorf("key reused: %d %s", a.status, a.body)
	}
	if a := call("POST", "/orders", "", `{"order":{"sn":"C"}}`); a.status != 400 || !strings.HasSuffix(reason(a), "IDEMPOTENCY_KEY_MISSING") {
		t.Errorf("no key: %d %s", a.status, a.body)
	}
	// Timeout: 504 at the declared 200ms.
	if a := call("GET", "/orders/slow", "", ""); a.status != http.StatusGatewayTimeout {
		t.Errorf("slow read: %d %s, want 504", a.status, a.body)
	}
	// Breaker: min_requests 4 at ratio 0.5 opens on failures.
	var last answer
	for range 6 {
		last = call("GET", "/orders/fail", "", "")
	}
	if last.status != http.StatusServiceUnavailable || !strings.HasSuffix(reason(last), "CIRCUIT_OPEN") {
		t.Errorf("after failures: %d %s, want 503 CIRCUIT_OPEN", last.status, last.body)
	}
	// Rate limit: 50 rps, burst 20. Sixty requests at once (each handler
	// takes 300ms, so they overlap) exceed the burst.
	var limited atomic.Int32
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := call("POST", "/orders", "rl-"+strconv.Itoa(i), order)
			if a.status == http.StatusTooManyRequests && a.header.Get("Retry-After") != "" && strings.HasSuffix(reason(a), "RATE_LIMITED") {
				limited.Add(1)
			}
		}()
	}
	wg.Wait()
	if limited.Load() == 0 {
		t.Error("60 requests at once were never rate limited with Retry-After")
	}
	// Metrics by route template, never the raw path.
	resp, err := http.Get("http://" + adminAddr + "/debug/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The field guide's PR check works on an HTTP-first service too:
	// service, env and region come first, as on a proto-first one.
	if !bytes.Contains(metrics, []byte(`http_request_duration_seconds_count{service="orders",env="dev",region="local"`)) {
		t.Errorf("grep 'http_request_duration_seconds_count{service=\"orders\"' finds nothing:\n%s", grepLines(string(metrics), "http_request_duration_seconds_count"))
	}
	if !bytes.Contains(metrics, []byte(`route="/orders/{id}"`)) || bytes.Contains(metrics, []byte(`route="/orders/slow"`)) {
		t.Errorf("metrics do not label by template:\n%s", metrics)
	}

	replicasShareRedis(t, bin)

	// generate rewrites the generated package only.
	svc := filepath.Join(out, "internal", "service", "service.go")
	gen := filepath.Join(out, "internal", "api", "govern.gen.go")
	if err := os.WriteFile(gen, []byte("// Code generated by hand. DO NOT EDIT.\npackage api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	written, err := Generate(t.Context(), out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(written, ",") != "internal/api/api.gen.go,internal/api/govern.gen.go" {
		t.Errorf("generate wrote %v", written)
	}
	if got, _ := os.ReadFile(gen); !bytes.Contains(got, []byte("var Policy = policy.Table")) {
		t.Error("generate did not restore govern.gen.go")
	}
	if got, _ := os.ReadFile(svc); string(got) != userService {
		t.Error("generate touched the user's service.go")
	}
}

// replicasShareRedis starts two replicas of the built OpenAPI service with
// -redis-addr on the test Redis: a key answered by the first is replayed
// by the second, which never runs its handler for it, and readiness and
// the store gauges follow Redis.
func replicasShareRedis(t *testing.T, bin string) {
	redisAddr := redistest.RequireAddr(t)
	var bases, admins []string
	for range 2 {
		addr, adminAddr := freeAddr(t), freeAddr(t)
		startProcess(t, filepath.Dir(bin), bin, "-addr", addr, "-admin-addr", adminAddr, "-redis-addr", redisAddr)
		bases, admins = append(bases, "http://"+addr), append(admins, adminAddr)
	}
	for _, admin := range admins {
		waitOK(t, "http://"+admin+"/readyz")
	}
	post := func(base, key, body string) (int, string) {
		req, _ := http.NewRequest("POST", base+"/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	key := fmt.Sprintf("shared-%d", time.Now().UnixNano())
	order := `{"client_id":"c9","order":{"sn":"S-1"}}`
	status, first := post(bases[0], key, order)
	if status != http.StatusCreated || !strings.Contains(first, `"run-1"`) {
		t.Fatalf("replica 1: %d %s, want 201 run-1", status, first)
	}
	if status, again := post(bases[1], key, order); status != http.StatusCreated || again != first {
		t.Fatalf("replica 2 answered %d %s for the key replica 1 ran, want its replay %s", status, again, first)
	}
	// Had replica 2 run the handler for key, this would be its run 2.
	if status, own := post(bases[1], key+"-2", order); status != http.StatusCreated || !strings.Contains(own, `"run-1"`) {
		t.Fatalf("replica 2's first own run: %d %s, want run-1 (it must not have run for the shared key)", status, own)
	}
	scrape := get(t, "http://"+admins[1]+"/debug/metrics")
	if want := `govern_idempotency_store_state{service="orders",env="dev",region="local",state="available"} 1`; !strings.Contains(scrape, want) {
		t.Errorf("/debug/metrics lacks %s:\n%s", want, grepLines(scrape, "_store_state"))
	}
	if verbose := get(t, "http://"+admins[1]+"/readyz?verbose"); !strings.Contains(verbose, "redis") {
		t.Errorf("/readyz?verbose does not show the redis check:\n%s", verbose)
	}
}
