package callorigin

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"

	_ "github.com/govkit/govern/internal/golden" // accepts go test ./... -update
)

func TestMarkSurvivesDerivedContexts(t *testing.T) {
	if FromGateway(context.Background()) {
		t.Fatal("an unmarked context reports the gateway")
	}
	ctx, cancel := context.WithCancel(WithGateway(context.Background()))
	defer cancel()
	// The generated gateway handlers add outgoing metadata on top of the
	// request context: the mark must survive that.
	ctx = metadata.AppendToOutgoingContext(ctx, "idempotency-key", "k")
	if !FromGateway(ctx) {
		t.Fatal("the mark is lost on a derived context")
	}
}
