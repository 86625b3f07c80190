package audit_test

import (
	"os"

	"github.com/govkit/govern/internal/audit"
)

// A report renders as a table for people; Run produces it from packages.
func ExampleWriteTable() {
	report := &audit.Report{Services: []audit.Service{
		{Package: "example.com/orders/cmd/orders", GRPCServers: 1, ServerGoverned: true, AdminWired: true, Policies: []string{"ordersv1.OrdersServicePolicy"}},
		{Package: "example.com/legacy/cmd/legacy", GRPCServers: 1, Problems: []string{"gRPC server without govern options"}},
	}}
	_ = audit.WriteTable(os.Stdout, report)
	// Output:
	// SERVICE                        SERVER      CLIENT  ADMIN  POLICY                        LINT  STATUS
	// example.com/orders/cmd/orders  governed    -       yes    ordersv1.OrdersServicePolicy  0     ok
	// example.com/legacy/cmd/legacy  UNGOVERNED  -       NO     -                             0     gRPC server without govern options
	// 1 of 2 services fully governed
}
