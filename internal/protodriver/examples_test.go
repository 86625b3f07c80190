package protodriver_test

import (
	"context"
	"fmt"

	"github.com/govkit/govern/internal/protodriver"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

// Compile resolves google/api and govern/v1 imports from the descriptors
// built into the binary, so only the service's own protos need to be on disk.
func ExampleCompile() {
	compiled, err := protodriver.Compile(context.Background(), []string{"testdata/proto"}, []string{"demo/v1/demo.proto"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range compiled.Files {
		fmt.Println(f.GetName())
	}
	// Output:
	// google/api/http.proto
	// google/protobuf/descriptor.proto
	// google/api/annotations.proto
	// govern/v1/govern.proto
	// demo/v1/demo.proto
}
