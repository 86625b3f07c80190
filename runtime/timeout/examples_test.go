package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/govkit/govern/runtime/timeout"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	// One wheel per governor; every call's deadline shares it.
	wheel := timeout.NewWheel()

	// The caller allowed an hour; the method's policy says 10ms.
	incoming, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	ctx := context.Context(incoming)
	if bounded := wheel.Bound(incoming, 10*time.Millisecond); bounded != nil {
		defer bounded.Release()
		ctx = bounded
	}
	select {
	case <-ctx.Done(): // a slow handler is stopped by the policy deadline
		fmt.Println(errors.Is(ctx.Err(), context.DeadlineExceeded))
	case <-time.After(time.Second):
		fmt.Println("handler finished")
	}
	// Output: true
}
