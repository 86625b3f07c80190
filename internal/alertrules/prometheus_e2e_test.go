//go:build unix

package alertrules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	orderv1 "github.com/govkit/govern/examples/order/gen/order/v1"
	"github.com/govkit/govern/internal/alertrules"
	"github.com/govkit/govern/internal/relabel"
	"github.com/govkit/govern/internal/slo"
	"github.com/govkit/govern/internal/tooltest"
)

// TestPrometheusSeesBreakerAlert runs the real thing: examples/order built
// and started on loopback with CreateOrder slower than its 800ms timeout, a
// real Prometheus scraping its admin endpoint every second with the rules
// generated from the example's policy table and the generated
// metric_relabel_configs, and calls driven until CreateOrder's breaker
// opens. The test passes when Prometheus's HTTP API reports
// GovernCircuitBreakerOpen firing for CreateOrder (open longer than its 5s
// open_for) and the scraped series carry region_group instead of region.
func TestPrometheusSeesBreakerAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds examples/order and runs Prometheus")
	}
	promBin := tooltest.Need(t, "prometheus", "prometheus")
	dir := t.TempDir()

	// The example's server, as a built binary (it is a main package). The
	// build has its own bound: on a cold cache, beside the other test
	// binaries of `go test ./...`, it alone can take minutes on two cores.
	orderBin := filepath.Join(dir, "order")
	buildCtx, cancelBuild := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancelBuild()
	if out, err := exec.CommandContext(buildCtx, "go", "build", "-o", orderBin, "../../examples/order").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/order: %v\n%s", err, out)
	}
	// The run itself is bounded: service, Prometheus and the alert.
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	start(t, ctx, orderBin, "-grpc-addr", grpcAddr, "-http-addr", freeAddr(t), "-admin-addr", adminAddr,
		"-create-latency", "3s", "-region", "eu-west-1", "-env", "e2e", "-drain-delay", "0s", "-log-level", "error")
	waitHTTP(t, ctx, "http://"+adminAddr+"/readyz")

	// Rules and scrape config as generated for the example.
	plan, problems := slo.NewPlan("order.v1.OrderService", orderv1.OrderServicePolicy, nil)
	if slo.HasErrors(problems) {
		t.Fatal(problems)
	}
	rules, err := alertrules.Generate(plan).YAML()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rules.yaml"), rules)
	writeFile(t, filepath.Join(dir, "targets.yaml"), []byte(fmt.Sprintf("- targets: [%q]\n", adminAddr)))
	scrape, err := relabel.ScrapeConfig(relabel.Options{Job: "govern-order", TargetsFile: filepath.Join(dir, "targets.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(scrape, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	cfg["rule_files"] = []string{filepath.Join(dir, "rules.yaml")}
	promCfg, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promCfg)
	promAddr := freeAddr(t)
	start(t, ctx, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	waitHTTP(t, ctx, "http://"+promAddr+"/-/ready")

	// Drive CreateOrder: every call times out (3s of work, 800ms
	// timeout), so after 20 failures in 10s the breaker opens; later calls
	// are rejected at once. Then stop: an open breaker nobody probes stays
	// open, and the alert must fire after open_for.
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := orderv1.NewOrderServiceClient(conn)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			_, _ = client.CreateOrder(ctx, &orderv1.CreateOrderRequest{ClientId: "e2e", OrderSn: strconv.Itoa(i), Sku: "sku", Quantity: 1, AmountMinor: 100, Currency: "EUR"})
		})
	}
	wg.Wait()
	driven := time.Now()

	deadline := time.Now().Add(30 * time.Second)
	for {
		alert, ok := firingAlert(t, ctx, promAddr, alertrules.AlertBreakerOpen)
		if ok {
			if alert["grpc_method"] != "CreateOrder" || alert["service"] != "order" || alert["region_group"] != "eu" || alert["region"] != "" {
				t.Fatalf("firing alert labels %v: want CreateOrder of service order, region folded into region_group eu", alert)
			}
			t.Logf("%s firing %v after the breaker opened", alertrules.AlertBreakerOpen, time.Since(driven).Round(100*time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not fire within 30s (breaker state: %s)", alertrules.AlertBreakerOpen, query(t, ctx, promAddr, `govern_breaker_state{grpc_method="CreateOrder"}`))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// firingAlert returns the labels of a firing alert named name.
func firingAlert(t *testing.T, ctx context.Context, promAddr, name string) (map[string]string, bool) {
	var resp struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string
				State  string
			}
		}
	}
	getJSON(t, ctx, "http://"+promAddr+"/api/v1/alerts", &resp)
	for _, a := range resp.Data.Alerts {
		if a.Labels["alertname"] == name && a.State == "firing" {
			return a.Labels, true
		}
	}
	return nil, false
}

func query(t *testing.T, ctx context.Context, promAddr, q string) string {
	var resp json.RawMessage
	getJSON(t, ctx, "http://"+promAddr+"/api/v1/query?query="+url.QueryEscape(q), &resp)
	return string(resp)
}

func getJSON(t *testing.T, ctx context.Context, url string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// start runs a process bounded by ctx, stopped by its PID at cleanup.
func start(t *testing.T, ctx context.Context, bin string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
}

func waitHTTP(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not ready: %v", url, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
