package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/govkit/govern/internal/tooltest"
)

// ClusterNodeTimeout is the cluster-node-timeout of test clusters: a
// primary that stops answering is failed over after about this long, so a
// failover test takes seconds, not the production default of 15.
const ClusterNodeTimeout = 1000 * time.Millisecond

// Cluster is a real Redis Cluster on loopback: three primaries and three
// replicas, each a redis-server process started with --cluster-enabled yes
// on free ports in a temporary directory, joined by
// `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`.
type Cluster struct {
	dir string
	// replicas is the number of replicas per primary: 1, or 0 for
	// StartClusterWithoutReplicas.
	replicas int
	mu       sync.Mutex
	nodes    []*ClusterNode
}

// CPUsEnv names the environment variable that, when set to a CPU list
// (taskset's --cpu-list, e.g. "1"), runs every redis-server this package
// starts on those CPUs. A benchmark run with `taskset --cpu-list 0` beside
// GOVERN_REDIS_CPUS=1 keeps the Redis processes and the client off each
// other's core, as separate hosts would, which a 2-core machine otherwise
// cannot.
const CPUsEnv = "GOVERN_REDIS_CPUS"

// clusterPrimaries is the number of primaries of every test cluster.
const clusterPrimaries = 3

// ClusterNode is one redis-server process of a Cluster.
type ClusterNode struct {
	Addr string
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Alive reports whether the node's process is running.
func (n *ClusterNode) Alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// StartCluster starts a cluster under a new temporary directory and waits
// until every node reports cluster_state:ok and every primary has its
// replica connected. Stop it with Stop.
func StartCluster() (*Cluster, error) { return startCluster(1) }

// StartClusterWithoutReplicas starts a cluster of three primaries and no
// replica: the peer of a single Redis in a benchmark, doing the same work
// per write, so the comparison measures what the cluster itself adds
// (routing, slot checks, three processes) apart from replication.
func StartClusterWithoutReplicas() (*Cluster, error) { return startCluster(0) }

func startCluster(replicas int) (*Cluster, error) {
	for _, tool := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found (install it with `apt-get install -y redis-server`): %w", tool, err)
		}
	}
	dir, err := os.MkdirTemp("", "govern-redis-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, replicas: replicas}
	ports, err := freeClusterPorts(clusterPrimaries * (1 + replicas))
	if err != nil {
		c.Stop()
		return nil, err
	}
	args := []string{"--cluster", "create"}
	for i, port := range ports {
		n := &ClusterNode{Addr: "127.0.0.1:" + strconv.Itoa(port), port: port, dir: filepath.Join(dir, strconv.Itoa(i))}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			c.Stop()
			return nil, err
		}
		if err := n.start(); err != nil {
			c.Stop()
			return nil, err
		}
		c.nodes = append(c.nodes, n)
		args = append(args, n.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, n := range c.nodes {
		if err := waitPing(ctx, n.Addr); err != nil {
			c.Stop()
			return nil, err
		}
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	// Until its replication offset moves, Redis reports a new replica as
	// "loading" (CLUSTER SHARDS), and a store that waits for replica
	// acknowledgements rightly counts it out. A write on every primary,
	// acknowledged, gives tests the cluster of a running fleet.
	if err := c.warm(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// warm writes keys until every primary has one, then waits until the
// replicas acknowledged them.
func (c *Cluster) warm(ctx context.Context) error {
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer client.Close()
	written := map[string]bool{}
	for i := 0; len(written) < clusterPrimaries; i++ {
		if i == 1000 {
			return fmt.Errorf("redis cluster in %s: 1000 keys reached only %d primaries", c.dir, len(written))
		}
		key := fmt.Sprintf("redistest:warm:%d", i)
		node, err := client.MasterForKey(ctx, key)
		if err != nil {
			return fmt.Errorf("warm the cluster: %w", err)
		}
		if addr := node.Options().Addr; !written[addr] {
			if err := client.Set(ctx, key, "warm", time.Minute).Err(); err != nil {
				return fmt.Errorf("warm the cluster: %w", err)
			}
			written[addr] = true
		}
	}
	return c.WaitReplicated(ctx)
}

func (n *ClusterNode) start() error {
	return n.startWith(
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", strconv.FormatInt(ClusterNodeTimeout.Milliseconds(), 10),
		// A replica may always take over, however long it was cut off:
		// tests kill primaries on purpose.
		"--cluster-replica-validity-factor", "0")
}

// startWith starts the node's redis-server with the common flags (its
// port, loopback, its directory, no persistence, a replica's full sync
// starting at once rather than after the default 5 s wait for more
// replicas) and extra.
func (n *ClusterNode) startWith(extra ...string) error {
	args := append([]string{"--port", strconv.Itoa(n.port), "--bind", "127.0.0.1", "--protected-mode", "no",
		"--dir", n.dir, "--logfile", "redis.log", "--save", "", "--appendonly", "no", "--daemonize", "no",
		"--repl-diskless-sync-delay", "0"}, extra...)
	cmd := exec.Command("redis-server", args...)
	if cpus := os.Getenv(CPUsEnv); cpus != "" {
		// taskset sets the affinity and execs redis-server: the PID, and
		// so Kill, stay the same.
		cmd = exec.Command("taskset", append([]string{"--cpu-list", cpus, "redis-server"}, args...)...)
	}
	cmd.Dir = n.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server on %s: %w", n.Addr, err)
	}
	n.cmd = cmd
	n.done = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(n.done)
	}()
	return nil
}

// Addrs returns the address of every node, the seed list for a client.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Client returns a cluster client of c, closed at cleanup. opts adjust its
// options (timeouts, pool) before it connects.
func (c *Cluster) Client(tb testing.TB, opts ...func(*redis.ClusterOptions)) *redis.ClusterClient {
	tb.Helper()
	o := &redis.ClusterOptions{Addrs: c.Addrs()}
	for _, f := range opts {
		f(o)
	}
	client := redis.NewClusterClient(o)
	tb.Cleanup(func() { _ = client.Close() })
	return client
}

// PrimaryOf returns the node that is the primary of key's slot now, as the
// cluster itself says (CLUSTER SHARDS on a live node).
func (c *Cluster) PrimaryOf(ctx context.Context, key string) (*ClusterNode, error) {
	slot := keySlot(key)
	for _, n := range c.liveNodes() {
		client := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
		shards, err := client.ClusterShards(ctx).Result()
		_ = client.Close()
		if err != nil {
			continue
		}
		for _, shard := range shards {
			for _, r := range shard.Slots {
				if int64(slot) < r.Start || int64(slot) > r.End {
					continue
				}
				for _, node := range shard.Nodes {
					if node.Role == "master" && node.Health == "online" {
						return c.node(fmt.Sprintf("%s:%d", node.IP, node.Port))
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("no live node knows the primary of slot %d", slot)
}

func (c *Cluster) node(addr string) (*ClusterNode, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.Addr == addr {
			return n, nil
		}
	}
	return nil, fmt.Errorf("%s is not a node of this cluster", addr)
}

func (c *Cluster) liveNodes() []*ClusterNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []*ClusterNode
	for _, n := range c.nodes {
		if n.Alive() {
			live = append(live, n)
		}
	}
	return live
}

// Kill ends n's process with SIGKILL, as a crash would: no shutdown, no
// last replication.
func (c *Cluster) Kill(n *ClusterNode) error {
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill redis-server %s (pid %d): %w", n.Addr, n.cmd.Process.Pid, err)
	}
	<-n.done
	return nil
}

// Restart starts a killed node again on its port and directory (it rejoins
// from its nodes.conf, as a replica of whichever node took over its
// slots), then waits until the cluster is healthy again.
func (c *Cluster) Restart(ctx context.Context, n *ClusterNode) error {
	if n.Alive() {
		return fmt.Errorf("redis-server %s is still running", n.Addr)
	}
	if err := n.start(); err != nil {
		return err
	}
	return c.WaitHealthy(ctx)
}

// WaitHealthy waits until every node runs, reports cluster_state:ok and
// knows all the others, and every primary has a replica connected, so a
// test starts from a cluster that can take another failover.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	var last error
	for {
		if last = c.healthy(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster in %s not healthy: %w", c.dir, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) healthy(ctx context.Context) error {
	c.mu.Lock()
	nodes := append([]*ClusterNode(nil), c.nodes...)
	c.mu.Unlock()
	primaries := 0
	for _, n := range nodes {
		if !n.Alive() {
			return fmt.Errorf("%s is not running", n.Addr)
		}
		out, err := exec.CommandContext(ctx, "redis-cli", "-p", strconv.Itoa(n.port), "cluster", "info").Output()
		if err != nil {
			return fmt.Errorf("cluster info on %s: %w", n.Addr, err)
		}
		info := string(out)
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(len(nodes))) {
			return fmt.Errorf("%s: %s", n.Addr, strings.Join(strings.Fields(info)[:3], " "))
		}
		repl, err := c.replicationInfo(ctx, n)
		if err != nil {
			return err
		}
		if repl["role"] == "master" {
			primaries++
			if c.replicas > 0 && (repl["connected_slaves"] != strconv.Itoa(c.replicas) || replicaAckedOffset(repl) < 0) {
				return fmt.Errorf("primary %s has no replica online", n.Addr)
			}
		}
	}
	if primaries != clusterPrimaries {
		return fmt.Errorf("%d primaries, want %d", primaries, clusterPrimaries)
	}
	return nil
}

// WaitReplicated waits until every replica has acknowledged all that its
// primary had written when WaitReplicated was called. Redis replicates
// asynchronously (and, after a diskless full sync, streams nothing until
// the replica's first REPLCONF ACK, up to a second later), so a test that
// kills a primary right after writing must call this first, or it tests
// the loss of unreplicated writes, which Redis does not prevent.
func (c *Cluster) WaitReplicated(ctx context.Context) error {
	if c.replicas == 0 {
		return nil
	}
	want := map[string]int64{} // primary addr -> master_repl_offset now
	for _, n := range c.liveNodes() {
		info, err := c.replicationInfo(ctx, n)
		if err != nil {
			return err
		}
		if info["role"] == "master" {
			off, _ := strconv.ParseInt(info["master_repl_offset"], 10, 64)
			want[n.Addr] = off
		}
	}
	for {
		behind := ""
		for addr, off := range want {
			n, err := c.node(addr)
			if err != nil {
				return err
			}
			info, err := c.replicationInfo(ctx, n)
			if err != nil {
				return err
			}
			if acked := replicaAckedOffset(info); acked < off {
				behind = fmt.Sprintf("replica of %s acknowledged offset %d of %d", addr, acked, off)
				break
			}
		}
		if behind == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster in %s: %s: %w", c.dir, behind, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// replicationInfo returns INFO replication of n as key -> value.
func (c *Cluster) replicationInfo(ctx context.Context, n *ClusterNode) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, "redis-cli", "-p", strconv.Itoa(n.port), "info", "replication").Output()
	if err != nil {
		return nil, fmt.Errorf("info replication on %s: %w", n.Addr, err)
	}
	info := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			info[k] = v
		}
	}
	return info, nil
}

// replicaAckedOffset returns the highest offset a replica of a primary has
// acknowledged (slave0:ip=...,state=online,offset=N,lag=0), or -1 without
// an online replica.
func replicaAckedOffset(info map[string]string) int64 {
	best := int64(-1)
	for k, v := range info {
		if !strings.HasPrefix(k, "slave") || !strings.Contains(v, "state=online") {
			continue
		}
		for _, field := range strings.Split(v, ",") {
			if num, ok := strings.CutPrefix(field, "offset="); ok {
				if off, err := strconv.ParseInt(num, 10, 64); err == nil && off > best {
					best = off
				}
			}
		}
	}
	return best
}

// Stop ends every node by its PID and removes the directory.
func (c *Cluster) Stop() {
	if c == nil {
		return
	}
	for _, n := range c.liveNodes() {
		_ = c.Kill(n)
	}
	_ = os.RemoveAll(c.dir)
}

// SharedCluster starts one Cluster per test binary, on the first test that
// asks for it, so that a package's cluster tests share the few seconds a
// cluster takes to form. Declare one at package level and call Stop from
// TestMain after m.Run.
type SharedCluster struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

// Get returns the shared cluster, starting it on first use. Without
// redis-server it skips the test, or fails it under CI.
func (s *SharedCluster) Get(tb testing.TB) *Cluster {
	tb.Helper()
	s.once.Do(func() { s.cluster, s.err = StartCluster() })
	if s.err != nil {
		tooltest.SkipOrFail(tb, "Redis Cluster for the test could not start: %v", s.err)
	}
	return s.cluster
}

// Stop stops the cluster if one was started.
func (s *SharedCluster) Stop() { s.cluster.Stop() }

// freeClusterPorts returns n ports that are free together with their
// cluster bus ports (port + 10000).
func freeClusterPorts(n int) ([]int, error) {
	var ports []int
	for tries := 0; len(ports) < n && tries < 200; tries++ {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := lis.Addr().(*net.TCPAddr).Port
		_ = lis.Close()
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		_ = bus.Close()
		ports = append(ports, port)
	}
	if len(ports) < n {
		return nil, errors.New("no free port pairs (port, port+10000) for a Redis Cluster")
	}
	return ports, nil
}

func waitPing(ctx context.Context, addr string) error {
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer client.Close()
	for {
		err := client.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis-server %s did not answer: %w", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Describe returns what a failed cluster test needs to explain itself:
// CLUSTER NODES as each live node sees it and the last lines of every
// node's log (elections, votes, failure reports).
func (c *Cluster) Describe(ctx context.Context) string {
	var b strings.Builder
	c.mu.Lock()
	nodes := append([]*ClusterNode(nil), c.nodes...)
	c.mu.Unlock()
	for _, n := range nodes {
		fmt.Fprintf(&b, "== %s alive=%v\n", n.Addr, n.Alive())
		if n.Alive() {
			out, err := exec.CommandContext(ctx, "redis-cli", "-p", strconv.Itoa(n.port), "cluster", "nodes").CombinedOutput()
			fmt.Fprintf(&b, "cluster nodes (%v):\n%s", err, out)
		}
		logText, _ := os.ReadFile(filepath.Join(n.dir, "redis.log"))
		lines := strings.Split(strings.TrimSpace(string(logText)), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		fmt.Fprintf(&b, "log tail:\n%s\n", strings.Join(lines, "\n"))
	}
	return b.String()
}

// RunMain runs a test binary whose tests share cluster and returns its exit
// code: the tests, then the cluster stopped, then, when they passed, a leak
// check that gives goroutines settle to end. A client's pool redials a node
// that went away from a background goroutine that wakes once a second until
// the pool is closed, and the idempotency server retries a result or a
// release from timers until the claim's lease ends, so a goroutine alive
// right after the tests is not yet a leak; one alive after settle is.
func RunMain(m *testing.M, cluster *SharedCluster, settle time.Duration) int {
	code := m.Run()
	cluster.Stop()
	if code != 0 {
		return code
	}
	var err error
	for end := time.Now().Add(settle); ; time.Sleep(100 * time.Millisecond) {
		if err = goleak.Find(); err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		return 1
	}
	return 0
}
