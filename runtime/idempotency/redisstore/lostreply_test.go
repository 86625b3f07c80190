package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/govkit/govern/internal/redistest"
	"github.com/govkit/govern/runtime/idempotency"
	"github.com/govkit/govern/runtime/idempotency/redisstore"
)

// replyLoser makes its client lose the reply to the next command that
// names marker after Redis ran it, as a connection dropped at the wrong
// moment does (a failover, a proxy or a network blip): the reply is read and
// thrown away and the connection closed, so go-redis sends the command again
// on another connection (a ClusterClient does so whatever MaxRetries says).
type replyLoser struct {
	marker []byte
	armed  atomic.Bool
	lost   atomic.Int32
}

func (l *replyLoser) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &losingConn{Conn: c, loser: l}, nil
}

type losingConn struct {
	net.Conn
	loser    *replyLoser
	loseNext bool
}

func (c *losingConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, c.loser.marker) && c.loser.armed.CompareAndSwap(true, false) {
		c.loseNext = true
	}
	return c.Conn.Write(p)
}

func (c *losingConn) Read(p []byte) (int, error) {
	if !c.loseNext {
		return c.Conn.Read(p)
	}
	c.loseNext = false
	if _, err := c.Conn.Read(p); err != nil { // Redis ran the command: here is its reply
		return 0, err
	}
	c.loser.lost.Add(1)
	_ = c.Conn.Close()
	return 0, io.EOF
}

// A claim or result whose reply is lost and which go-redis sends again is
// still the caller's: the resent claim does not find its own first attempt
// and report the key as held by another call (which would leave the key
// held by nobody until the lease ends), and the resent result does not
// report the claim as lost. On one Redis and on the cluster.
func TestResentCommandsStayTheOwners(t *testing.T) {
	prefix := fmt.Sprintf("govern-test:resent:%d:", time.Now().UnixNano())
	deployments := []struct {
		name   string
		client func(t *testing.T, l *replyLoser) redis.UniversalClient
	}{
		{"redis", func(t *testing.T, l *replyLoser) redis.UniversalClient {
			return redistest.Client(t, func(o *redis.Options) { o.Dialer = l.dial })
		}},
		{"cluster", func(t *testing.T, l *replyLoser) redis.UniversalClient {
			return cluster.Get(t).Client(t, func(o *redis.ClusterOptions) { o.Dialer = l.dial })
		}},
	}
	ctx := context.Background()
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			loser := &replyLoser{marker: []byte(prefix)}
			store, err := redisstore.New(d.client(t, loser), redisstore.WithKeyPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			key := idempotency.DeriveKey("", method, d.name)
			mine := idempotency.Record{Owner: idempotency.Owner{1}, Fingerprint: idempotency.Fingerprint{1}, Deadline: time.Now().Add(time.Minute)}

			loser.armed.Store(true)
			existing, claimed, err := store.Claim(ctx, key, mine, time.Minute)
			if loser.lost.Load() != 1 {
				t.Fatalf("the claim's reply was not lost (%d lost): the test did not test anything", loser.lost.Load())
			}
			if err != nil || !claimed {
				t.Fatalf("claim resent after its reply was lost: claimed=%v err=%v existing=%+v; want claimed", claimed, err, existing)
			}
			other := mine
			other.Owner = idempotency.Owner{2}
			if got, claimed, err := store.Claim(ctx, key, other, time.Minute); err != nil || claimed || got.Owner != mine.Owner {
				t.Fatalf("another call's claim: claimed=%v err=%v record=%+v; want the first claim", claimed, err, got)
			}

			result := idempotency.Record{Fingerprint: mine.Fingerprint, ResponseType: "a.B", Payload: []byte("result")}
			loser.armed.Store(true)
			if err := store.Finish(ctx, key, mine.Owner, result, time.Minute); err != nil {
				t.Fatalf("finish resent after its reply was lost: %v; want nil", err)
			}
			if loser.lost.Load() != 2 {
				t.Fatalf("the finish's reply was not lost (%d lost in all)", loser.lost.Load())
			}
			if got, claimed, err := store.Claim(ctx, key, other, time.Minute); err != nil || claimed || got.State != idempotency.StateFinished || string(got.Payload) != "result" {
				t.Fatalf("after the finish: claimed=%v err=%v record=%+v; want the result", claimed, err, got)
			}
		})
	}
}
