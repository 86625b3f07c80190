package retrytest

import (
	"context"
	"slices"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerScriptsEveryAttempt(t *testing.T) {
	srv, err := Start(func(ctx context.Context, a Attempt) (string, error) {
		if a.Method == Create {
			Pushback(ctx, "-1")
			return "", status.Error(codes.Unavailable, "no")
		}
		return a.Request + "!", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cc, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	ctx := metadata.AppendToOutgoingContext(t.Context(), "idempotency-key", "k1")
	if got, err := Call(ctx, cc, Get, "a"); err != nil || got != "a!" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	var trailer metadata.MD
	if _, err := Call(ctx, cc, Create, "b", grpc.Trailer(&trailer)); status.Code(err) != codes.Unavailable {
		t.Fatalf("Create err = %v", err)
	}
	if got := trailer.Get("grpc-retry-pushback-ms"); !slices.Equal(got, []string{"-1"}) {
		t.Errorf("pushback trailer = %q", got)
	}
	if got, err := WatchAll(ctx, cc, "c"); err != nil || !slices.Equal(got, []string{"c!", "c!"}) {
		t.Errorf("Watch = %q, %v", got, err)
	}
	_, _ = Call(ctx, cc, Get, "d")

	if srv.Attempts(Get) != 2 || srv.Attempts(Create) != 1 || srv.Attempts(Watch) != 1 {
		t.Errorf("attempts Get/Create/Watch = %d/%d/%d, want 2/1/1", srv.Attempts(Get), srv.Attempts(Create), srv.Attempts(Watch))
	}
	log := srv.Log()
	if len(log) != 4 || log[3].Method != Get || log[3].N != 2 || log[3].Request != "d" {
		t.Fatalf("log = %+v", log)
	}
	for _, a := range log {
		if k := a.Metadata.Get("idempotency-key"); !slices.Equal(k, []string{"k1"}) {
			t.Errorf("attempt %s#%d metadata key = %q", a.Method, a.N, k)
		}
	}
	srv.Reset()
	if srv.Attempts(Get) != 0 || len(srv.Log()) != 0 {
		t.Error("Reset kept attempts")
	}
}
