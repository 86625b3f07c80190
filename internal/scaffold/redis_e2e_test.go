//go:build unix

package scaffold

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/govkit/govern/internal/redistest"
)

// TestRedisClusterScaffold scaffolds a service with --redis, builds it and
// runs two replicas of it against a real Redis Cluster (three primaries,
// three replicas) given with -redis-addr a,b,c, as docs/redis-cluster.md
// tells a user to: the same request sent to both replicas at once runs
// once and both get the same item; readiness probes the cluster; both
// stores export their state gauge with the service's labels.
func TestRedisClusterScaffold(t *testing.T) {
	// The cluster starts before goOnlyEnv leaves only go on PATH.
	var cluster redistest.SharedCluster
	c := cluster.Get(t)
	t.Cleanup(cluster.Stop)
	root, gitBin := goOnlyEnv(t)

	out := filepath.Join(t.TempDir(), "ledger")
	newCommittedService(t, gitBin, root, Options{Name: "ledger", OutDir: out, GovernPath: root, HTTP: true, Redis: true})
	bin := filepath.Join(out, "bin", "ledger")
	goCmd(t, out, "build", "-o", bin, "./cmd/ledger")

	seeds := strings.Join(c.Addrs(), ",")
	var httpAddrs, adminAddrs []string
	for range 2 {
		grpcAddr, httpAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t)
		startService(t, out, bin, "-grpc-addr", grpcAddr, "-http-addr", httpAddr, "-admin-addr", adminAddr, "-redis-addr", seeds, "-drain-delay", "100ms")
		httpAddrs, adminAddrs = append(httpAddrs, httpAddr), append(adminAddrs, adminAddr)
	}
	for _, admin := range adminAddrs {
		waitOK(t, "http://"+admin+"/readyz")
	}
	if verbose := get(t, "http://"+adminAddrs[0]+"/readyz?verbose"); !strings.Contains(verbose, "redis") {
		t.Errorf("/readyz?verbose does not show the redis check:\n%s", verbose)
	}

	// Each request goes to both replicas at the same moment; request ids
	// spread the store keys over the cluster's slots.
	for i := range 12 {
		body := fmt.Sprintf(`{"requestId":"cluster-%d","displayName":"item %d"}`, i, i)
		answers := make([]string, len(httpAddrs))
		var wg sync.WaitGroup
		for r, addr := range httpAddrs {
			wg.Go(func() { answers[r] = postUntilDone(t, "http://"+addr+"/v1/items", body) })
		}
		wg.Wait()
		if answers[0] != answers[1] || !strings.Contains(answers[0], fmt.Sprintf("item %d", i)) {
			t.Fatalf("request cluster-%d: replica 1 answered %s, replica 2 %s; want one item, the same answer", i, answers[0], answers[1])
		}
	}

	scrape := get(t, "http://"+adminAddrs[0]+"/debug/metrics")
	for _, series := range []string{
		`govern_idempotency_store_state{service="ledger",env="development",region="us-west-2",state="available"} 1`,
		`govern_ratelimit_store_state{service="ledger",env="development",region="us-west-2",state="available"} 1`,
	} {
		if !strings.Contains(scrape, series) {
			t.Errorf("/debug/metrics has no %s:\n%s", series, grepLines(scrape, "_store_state"))
		}
	}
}

// postUntilDone posts body and returns the answer, retrying while the
// same request runs on the other replica (409 in flight), as a client
// following Retry-After does.
func postUntilDone(t *testing.T, url, body string) string {
	for attempt := 0; ; attempt++ {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return ""
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return string(b)
		case resp.StatusCode == http.StatusConflict && attempt < 100:
			time.Sleep(20 * time.Millisecond)
		default:
			t.Errorf("POST %s %s = %d %s", url, body, resp.StatusCode, b)
			return ""
		}
	}
}
