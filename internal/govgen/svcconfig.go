package govgen

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/govkit/govern/runtime/serviceconfig"
)

func serviceConfigName(s *protogen.Service) string { return s.GoName + "ServiceConfig" }

// genServiceConfig emits SvcServiceConfig, the gRPC service-config JSON of
// the service, rendered by runtime/serviceconfig (the same code clients use
// at dial time).
func genServiceConfig(g *protogen.GeneratedFile, sm *serviceModel) error {
	s := sm.service
	js, err := serviceconfig.Build(sm.table)
	if err != nil {
		return fmt.Errorf("%s: service %s: %w", sm.service.Location.SourceFile, s.Desc.FullName(), err)
	}
	name := serviceConfigName(s)
	g.P("// ", name, " is the gRPC service config of ", s.Desc.FullName(), ": per-method")
	g.P("// timeouts, native retries for retry-safe methods whose retry is not adaptive,")
	g.P("// and retry throttling. Use it with grpc.WithDefaultServiceConfig.")
	lit := "`" + js + "`"
	if strings.Contains(js, "`") {
		lit = strconv.Quote(js)
	}
	g.P("const ", name, " = ", lit)
	g.P()
	return nil
}
