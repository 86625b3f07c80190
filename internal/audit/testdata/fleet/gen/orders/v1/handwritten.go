package ordersv1

import "github.com/govkit/govern/runtime/policy"

// NotGenerated is a policy.Table outside a *_govern.pb.go file: not a
// generated policy.
var NotGenerated = policy.Table{}
