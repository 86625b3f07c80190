//go:build unix

package scaffold

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/govkit/govern/internal/etcdtest"
	"github.com/govkit/govern/runtime/discovery/etcd"
)

// TestDiscoveryScaffold builds a `--registry etcd` service, checks only that
// scaffold links the etcd client (a default scaffold links neither etcd nor
// Consul), runs it with its registry down (it serves, /readyz?verbose names
// the failing "discovery" check, SIGTERM runs the deregistering hook),
// then runs it against a live (embedded) etcd: registered under a lease
// with its address and region once ready, gone after SIGTERM; and checks a
// config naming another registry than the one linked is refused.
func TestDiscoveryScaffold(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs a generated service")
	}
	root, err := filepath.Abs(governRoot)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOWORK", "off")
	t.Setenv("CGO_ENABLED", "0")
	t.Setenv("GOFLAGS", "-mod=readonly -buildvcs=false")

	plain := filepath.Join(t.TempDir(), "plain")
	if _, err := NewService(t.Context(), Options{Name: "demo", OutDir: plain, GovernPath: root, NoGenerate: true}); err != nil {
		t.Fatal(err)
	}
	skipUnlessCommitted(t, "git", root, plain)
	if deps := goCmd(t, plain, "list", "-e", "-deps", "./cmd/demo"); strings.Contains(deps, "go.etcd.io/etcd") || strings.Contains(deps, "hashicorp/consul") {
		t.Fatalf("a scaffold without --registry links a registry client:\n%s", deps)
	}

	out := filepath.Join(t.TempDir(), "demo")
	if _, err := NewService(t.Context(), Options{Name: "demo", OutDir: out, GovernPath: root, Registry: "etcd"}); err != nil {
		t.Fatal(err)
	}
	deps := goCmd(t, out, "list", "-deps", "./cmd/demo")
	if !strings.Contains(deps, "go.etcd.io/etcd/client/v3\n") || strings.Contains(deps, "hashicorp/consul") {
		t.Fatalf("a --registry etcd scaffold must link the etcd client and not Consul's:\n%s", deps)
	}
	goCmd(t, out, "vet", "./...")
	bin := filepath.Join(out, "bin", "demo")
	goCmd(t, out, "build", "-o", bin, "./cmd/demo")

	grpcAddr, adminAddr := freeAddr(t), freeAddr(t)
	down := freeAddr(t) // nothing listens: the registry is down
	cfg := appendLine(t, filepath.Join(out, "config.yaml"), "discovery:\n  registry: etcd\n  endpoints: ["+down+"]\n  advertise: "+grpcAddr)
	proc := startService(t, out, bin, "-grpc-addr", grpcAddr, "-admin-addr", adminAddr, "-drain-delay", "100ms")
	waitOK(t, "http://"+adminAddr+"/livez")
	body := eventuallyBody(t, "http://"+adminAddr+"/readyz?verbose", "[-]discovery failed: not registered in service discovery")
	if strings.Contains(body, "readyz check passed") {
		t.Fatalf("/readyz?verbose passed with the registry down:\n%s", body)
	}
	stopService(t, proc)

	// With etcd up (a real one, embedded in this test) the service
	// registers under its lease once it serves, and deregisters on SIGTERM.
	live, err := etcdtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(live.Stop)
	if err := os.WriteFile(filepath.Join(out, "config.yaml"), []byte(strings.Replace(cfg, "endpoints: ["+down+"]", "endpoints: ["+live.Addr()+"]", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	etcdClient, err := clientv3.New(clientv3.Config{Endpoints: []string{live.Addr()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer etcdClient.Close()
	registered := func() []string {
		resp, err := etcdClient.Get(t.Context(), etcd.DefaultPrefix+"/demo/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		for _, kv := range resp.Kvs {
			if kv.Lease == 0 {
				t.Errorf("%s is registered without a lease: it would outlive a crashed service", kv.Key)
			}
			values = append(values, string(kv.Value))
		}
		return values
	}
	proc = startService(t, out, bin, "-grpc-addr", grpcAddr, "-admin-addr", adminAddr, "-drain-delay", "100ms")
	waitOK(t, "http://"+adminAddr+"/readyz")
	values := registered()
	t.Logf("registered in etcd: %q", values)
	if len(values) != 1 || !strings.Contains(values[0], grpcAddr) || !strings.Contains(values[0], "us-west-2") {
		t.Fatalf("registered in etcd: %q, want one endpoint at %s in us-west-2", values, grpcAddr)
	}
	stopService(t, proc)
	if values := registered(); len(values) != 0 {
		t.Fatalf("still registered after SIGTERM: %q", values)
	}

	// A config naming a registry the binary does not link is an error
	// naming the fix.
	if err := os.WriteFile(filepath.Join(out, "config.yaml"), []byte(strings.Replace(cfg, "registry: etcd", "registry: consul", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", "config.yaml", "-grpc-addr", freeAddr(t), "-admin-addr", freeAddr(t))
	cmd.Dir = out
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "links the etcd registry") || !strings.Contains(string(msg), "--registry consul") {
		t.Fatalf("a consul config on an etcd binary: err %v, output %s; want a refusal naming --registry consul", err, msg)
	}
}

// eventuallyBody polls url until its body contains want and returns it.
func eventuallyBody(t *testing.T, url, want string) string {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if last = string(b); strings.Contains(last, want) {
			return last
		}
	}
	t.Fatalf("%s never contained %q within 20s; last: %s", url, want, last)
	return ""
}
