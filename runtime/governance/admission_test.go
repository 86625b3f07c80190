package governance_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/govkit/govern/internal/testpb/testv1"
	"github.com/govkit/govern/runtime/errinfo"
	"github.com/govkit/govern/runtime/governance"
	"github.com/govkit/govern/runtime/policy"
)

const syncOrders = "/govern.test.v1.OrderService/SyncOrders"

// withTimeout returns the test table with fullMethod's timeout replaced.
func withTimeout(fullMethod string, d time.Duration) policy.Table {
	table := testTable()
	m := *table[fullMethod]
	m.Timeout = d
	table[fullMethod] = &m
	return table
}

// A bidi handler blocked in Recv (the client sends nothing) is ended by the
// policy timeout with DEADLINE_EXCEEDED; the client set no deadline.
func TestStreamPolicyTimeoutEndsABlockedRecv(t *testing.T) {
	g, err := governance.New(withTimeout(syncOrders, 300*time.Millisecond), governance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	env := startServer(t, g)
	// No client deadline: without the policy timeout the stream would stay
	// open until this safety cancel, which ends it with CANCELLED.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	safety := time.AfterFunc(30*time.Second, cancel)
	defer safety.Stop()

	stream, err := env.client.SyncOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(status.Convert(err).Message(), "policy timeout") {
		t.Fatalf("blocked stream ended with %v, want DEADLINE_EXCEEDED from the 300ms policy timeout", err)
	}
	if got := testutil.ToFloat64(handled(t, g, "SyncOrders", "DeadlineExceeded")); got != 1 {
		t.Errorf("SyncOrders handled with DeadlineExceeded = %v, want 1", got)
	}
}

// A stream that finishes within its timeout is unaffected.
func TestStreamWithinPolicyTimeout(t *testing.T) {
	g, err := governance.New(withTimeout(syncOrders, 10*time.Second), governance.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	env := startServer(t, g)
	stream, err := env.client.SyncOrders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&testv1.OrderEvent{OrderId: "o1"}); err != nil {
		t.Fatal(err)
	}
	ev, err := stream.Recv()
	if err != nil || ev.GetOrderId() != "o1" {
		t.Fatalf("echo = %v, %v", ev, err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err == nil || status.Code(err) != codes.OK {
		// io.EOF has code Unknown through status.Code; check it is EOF.
		if err == nil || err.Error() != "EOF" {
			t.Fatalf("end of stream = %v, want EOF", err)
		}
	}
}

// Admit is the chain's admission step for net/http: rate limit, breaker,
// timeout.
func TestAdmit(t *testing.T) {
	g, _ := newGovernor(t)
	const slowReport = "/govern.test.v1.OrderService/SlowReport" // 200ms timeout

	t.Run("policy timeout bounds the context", func(t *testing.T) {
		ctx, admission, err := g.Admit(context.Background(), slowReport, http.Header{})
		if err != nil {
			t.Fatal(err)
		}
		d, ok := ctx.Deadline()
		if !ok || time.Until(d) > 200*time.Millisecond {
			t.Fatalf("deadline in %v (%v), want within 200ms", time.Until(d), ok)
		}
		admission.Done(nil)
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("Err after Done = %v, want Canceled", ctx.Err())
		}
	})
	t.Run("AdmitAt counts the timeout from the call's start", func(t *testing.T) {
		start := time.Now().Add(-time.Second) // the caller read the clock a second ago
		ctx, admission, err := g.AdmitAt(context.Background(), slowReport, start, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer admission.Done(nil)
		if d, ok := ctx.Deadline(); !ok || !d.Equal(start.Add(200*time.Millisecond)) {
			t.Fatalf("deadline %v (%v), want start + 200ms = %v", d, ok, start.Add(200*time.Millisecond))
		}
	})
	t.Run("unknown method passes", func(t *testing.T) {
		parent := context.Background()
		ctx, admission, err := g.Admit(parent, "/no.Such/Method", nil)
		if err != nil || ctx != parent {
			t.Fatalf("Admit = %v, %v", ctx, err)
		}
		admission.Done(errors.New("ignored"))
	})
	t.Run("rate limit rejects", func(t *testing.T) {
		const rateLimited = "/govern.test.v1.OrderService/ReserveStock"
		var err error
		for range 1000 {
			var admission governance.Admission
			if _, admission, err = g.Admit(context.Background(), rateLimited, nil); err != nil {
				break
			}
			admission.Done(nil)
		}
		if !errinfo.Is(err, errinfo.RateLimited) {
			t.Fatalf("1000 calls admitted without a rate limit rejection: %v", err)
		}
	})
	t.Run("breaker opens on failures and rejects", func(t *testing.T) {
		const charge = "/govern.test.v1.OrderService/ChargePayment"
		var err error
		for range 1000 {
			var admission governance.Admission
			if _, admission, err = g.Admit(context.Background(), charge, nil); err != nil {
				break
			}
			admission.Done(status.Error(codes.Internal, "down"))
		}
		if !errinfo.Is(err, errinfo.CircuitOpen) {
			t.Fatalf("failing calls never opened the breaker: %v", err)
		}
	})
}
