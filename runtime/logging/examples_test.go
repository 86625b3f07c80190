package logging_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/govkit/govern/runtime/logging"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func Example() {
	var out bytes.Buffer
	logger := logging.New(&out, slog.LevelInfo)
	logging.LogCall(context.Background(), logger, "/shop.v1.Orders/Create", codes.Unavailable, 12*time.Millisecond, errors.New("database down"))

	// Drop the timestamp to keep the example's output stable.
	line := out.String()
	fmt.Print(line[strings.Index(line, `"level"`):])
	// Output: "level":"warn","msg":"finished call","method":"/shop.v1.Orders/Create","code":"Unavailable","duration":12000000,"error":"database down"}
}
