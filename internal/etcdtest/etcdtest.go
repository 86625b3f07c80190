// Package etcdtest starts a real etcd server inside a test binary
// (go.etcd.io/etcd/server/v3/embed) on free loopback ports, so discovery
// tests run against etcd itself, not a fake, with no etcd installed. One
// server starts in about a second: share it across a package's tests.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Server is an embedded single-member etcd cluster.
type Server struct {
	etcd *embed.Etcd
	dir  string
}

// Start starts a server with its data in a new temporary directory and
// waits until it serves (at most 30 s). Stop it with Stop.
func Start() (*Server, error) {
	dir, err := os.MkdirTemp("", "govern-etcd-")
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.LogLevel = "error"
	client, peer := freeURL(), freeURL()
	if client == nil || peer == nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("no free loopback port for etcd")
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	s := &Server{etcd: e, dir: dir}
	select {
	case <-e.Server.ReadyNotify():
		return s, nil
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("embedded etcd not ready after 30s")
	}
}

// Addr is the client address (host:port) to give clientv3 or a service's
// discovery.endpoints.
func (s *Server) Addr() string { return s.etcd.Clients[0].Addr().String() }

// Stop ends the server, waits until it stopped and removes its data.
func (s *Server) Stop() {
	s.etcd.Close()
	<-s.etcd.Server.StopNotify()
	_ = os.RemoveAll(s.dir)
}

func freeURL() *url.URL {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil
	}
	defer l.Close()
	return &url.URL{Scheme: "http", Host: l.Addr().String()}
}
