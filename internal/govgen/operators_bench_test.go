package govgen

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// BenchmarkFleetOperators measures the operator artefacts on the fleet of
// BenchmarkFleet (127 services x 10 methods), in process: "code" is the Go
// output alone, "code+rules+dashboards" adds the rule files,
// PrometheusRules, dashboards and scrape configs of every service. Their
// difference is what rules=true,dashboards=true,scrape=true cost.
func BenchmarkFleetOperators(b *testing.B) {
	dir, names := writeFleet(b)
	for _, tc := range []struct{ name, param string }{
		{"code", "paths=source_relative"},
		{"code+rules+dashboards", "paths=source_relative,rules=true,dashboards=true,scrape=true"},
	} {
		in, err := proto.Marshal(compileRequest(b, tc.param, append([]string{dir}, protoImportPaths...), names...))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
