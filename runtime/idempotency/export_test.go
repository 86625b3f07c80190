package idempotency

// Test helpers shared with the external test package (idempotency_test).
var (
	RequireRedis = requireRedis
	TestPrefix   = testPrefix
	ReportCPU    = reportCPU
)
