package govgen

import (
	"path/filepath"
	"strings"
	"testing"
)

// goldenCases are the protos of testdata/protos and the files the plugin
// must emit for each (none for a file without services).
var goldenCases = []struct {
	proto     string
	parameter string
	want      []string
}{
	{"levels.proto", "paths=source_relative", []string{"levels_govern.pb.go"}},
	{"keys.proto", "paths=source_relative", []string{"keys_govern.pb.go"}},
	{"streaming.proto", "paths=source_relative", []string{"streaming_govern.pb.go"}},
	{"http.proto", "paths=source_relative,openapi=true", []string{"http_govern.pb.go", "http.openapi.yaml"}},
	{"editions.proto", "paths=source_relative", []string{"editions_govern.pb.go"}},
	{"noservice.proto", "paths=source_relative", nil},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(strings.TrimSuffix(tc.proto, ".proto"), func(t *testing.T) {
			resp := generate(t, compileRequest(t, tc.parameter, protoImportPaths, tc.proto))
			if resp.Error != nil {
				t.Fatalf("plugin error:\n%s", resp.GetError())
			}
			var names []string
			for _, f := range resp.File {
				names = append(names, f.GetName())
				checkGolden(t, filepath.Join(repoRoot, "testdata", "golden", f.GetName()), []byte(f.GetContent()))
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Errorf("generated files %q, want %q", names, tc.want)
			}
		})
	}
}
