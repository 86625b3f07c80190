package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/govkit/govern/internal/redistest"
)

// cuttableProxy forwards TCP to a backend until cut, standing in for a
// network partition between the service and Redis.
type cuttableProxy struct {
	lis     net.Listener
	backend string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newCuttableProxy(t *testing.T, backend string) *cuttableProxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{lis: lis, backend: backend, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = lis.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *cuttableProxy) accept() {
	for {
		client, err := p.lis.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.backend)
		if err != nil {
			p.mu.Unlock()
			_ = client.Close()
			continue
		}
		p.conns[client], p.conns[server] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
		}
		p.wg.Go(func() { pipe(server, client) })
		p.wg.Go(func() { pipe(client, server) })
	}
}

func (p *cuttableProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

func startReplica(t *testing.T, redis string) (*app, string, string, healthgrpc.HealthClient) {
	t.Helper()
	cfg, err := parseConfig([]string{
		"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
		"-redis-addr", redis, "-env", "test", "-region", "test-1", "-drain-delay", "0s",
	}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	conn, err := grpc.NewClient(a.grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replica stopped with %v", err)
		}
	})
	return a, "http://" + a.httpLis.Addr().String(), "http://" + a.adminLis.Addr().String(), healthgrpc.NewHealthClient(conn)
}

// TestRedisReplicas runs two replicas on one Redis: a retry that lands on
// the other replica is replayed, db_ping_ms measures Redis, and losing Redis
// flips readiness on HTTP and gRPC.
func TestRedisReplicas(t *testing.T) {
	proxy := newCuttableProxy(t, redistest.RequireAddr(t))
	replicaA, httpA, adminA, healthA := startReplica(t, proxy.lis.Addr().String())
	replicaB, httpB, _, _ := startReplica(t, proxy.lis.Addr().String())
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	post := func(url, key, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/orders", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Keys live in the shared Redis for 24h: make them unique per run.
	id := "redis-e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	body := orderBody("shop-r", id, 1)
	codeA, bodyA := post(httpA, strconv.Quote(id), body)
	codeB, bodyB := post(httpB, strconv.Quote(id), body)
	if codeA != 200 || codeB != 200 || !bytes.Equal(bodyA, bodyB) {
		t.Fatalf("replica A %d %s, replica B %d %s: want B to replay A's response", codeA, bodyA, codeB, bodyB)
	}
	if replicaA.store.Len()+replicaB.store.Len() != 1 {
		t.Fatalf("orders on A=%d B=%d, want exactly one in total", replicaA.store.Len(), replicaB.store.Len())
	}

	code, healthz := get(adminA + "/healthz")
	var h struct {
		DBPingMS *float64                  `json:"db_ping_ms"`
		Checks   map[string]map[string]any `json:"checks"`
	}
	if err := json.Unmarshal([]byte(healthz), &h); err != nil || code != 200 || h.DBPingMS == nil || *h.DBPingMS <= 0 || h.Checks["redis"]["database"] != true {
		t.Fatalf("/healthz = %d %s, want db_ping_ms measured against Redis", code, healthz)
	}

	proxy.setCut(true)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(adminA + "/readyz?verbose")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "[-]redis failed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never failed after losing Redis: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := healthA.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("grpc health without Redis = %v, %v; want NOT_SERVING", resp, err)
	}
	// The idempotency store fails closed: no order is taken without it.
	// The answer is 503 (IDEMPOTENCY_STORE_UNAVAILABLE) when Redis refuses
	// at once, 504 when the claim runs into the call's 800ms deadline.
	before := replicaA.store.Len()
	if code, b := post(httpA, strconv.Quote(id+"-down"), orderBody("shop-r", id+"-down", 1)); code != http.StatusServiceUnavailable && code != http.StatusGatewayTimeout {
		t.Fatalf("create without Redis = %d %s, want 503 or 504", code, b)
	}
	if replicaA.store.Len() != before {
		t.Fatal("an order was taken while the idempotency store was unreachable")
	}

	proxy.setCut(false)
	deadline = time.Now().Add(10 * time.Second)
	for {
		if code, _ := get(adminA + "/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never recovered after Redis came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
