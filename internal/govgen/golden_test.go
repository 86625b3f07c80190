package govgen

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/govkit/govern/internal/golden"
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
	{"http.proto", "paths=source_relative,openapi=true,openapi_format=json", []string{"http_govern.pb.go", "http.openapi.json"}},
	{"editions.proto", "paths=source_relative", []string{"editions_govern.pb.go"}},
	{"opaque.proto", "paths=source_relative", []string{"opaque_govern.pb.go"}},
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
				golden.Check(t, filepath.Join(repoRoot, "testdata", "golden", f.GetName()), []byte(f.GetContent()))
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Errorf("generated files %q, want %q", names, tc.want)
			}
		})
	}
}

func TestResponseDeclaresFeatures(t *testing.T) {
	resp := generate(t, compileRequest(t, "", protoImportPaths, "keys.proto"))
	want := uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL | pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	if resp.GetSupportedFeatures() != want {
		t.Errorf("supported features = %b, want %b", resp.GetSupportedFeatures(), want)
	}
	if resp.GetMinimumEdition() != int32(descriptorpb.Edition_EDITION_PROTO2) || resp.GetMaximumEdition() != int32(descriptorpb.Edition_EDITION_2024) {
		t.Errorf("editions = %d..%d", resp.GetMinimumEdition(), resp.GetMaximumEdition())
	}
	if !strings.Contains(resp.File[0].GetContent(), "\n// source: keys.proto\n") {
		t.Error("header does not name the source file")
	}
}

func TestGatewayParameter(t *testing.T) {
	for param, want := range map[string]bool{"": true, "gateway=true": true, "gateway=false": false} {
		resp := generate(t, compileRequest(t, param, protoImportPaths, "http.proto"))
		if resp.Error != nil {
			t.Fatal(resp.GetError())
		}
		if got := strings.Contains(resp.File[0].GetContent(), "func RegisterOrdersGateway("); got != want {
			t.Errorf("%q: RegisterOrdersGateway emitted = %v, want %v", param, got, want)
		}
	}
}
