package slo_test

import (
	"strings"
	"testing"
	"time"

	_ "github.com/govkit/govern/internal/golden" // accepts go test ./... -update
	"github.com/govkit/govern/internal/slo"
	"github.com/govkit/govern/internal/slo/slotest"
	"github.com/govkit/govern/runtime/policy"
)

func problemStrings(ps []slo.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestParseConfigReportsEveryProblemAtItsPosition(t *testing.T) {
	src := `service_label: shop
scrape_interval: 30s
rate_limited_share: 5
objectives:
  /shop.v1.CheckoutService/Pay: {latency: fast, availability: 0.999}
  GetCart: {latency: 100ms}
burn_rates:
  - {long: 1h, short: 5m, factor: 14.4, severity: page}
  - {long: 6h, short: 6h, factor: 6}
  - {long: 1h, short: 30s, factor: 2}
  - {long: 1h, factor: 2, severity: sms}
colour: blue
`
	_, problems := slo.ParseConfig("slo.yaml", []byte(src))
	want := `slo.yaml:3:21: rate_limited_share "5" must be a number between 0 and 1 (exclusive): write the share of calls, such as 0.05 for 5%
slo.yaml:5:43: latency "fast" is not a duration: write it like 300ms, 5m, 6h or 30d
slo.yaml:6:3: objective key "GetCart" is not a full method name: write /package.Service/Method, as in the generated policy table
slo.yaml:11:37: severity "sms": use page or ticket
slo.yaml:11:5: burn rate has no short: set long, short and factor
slo.yaml:12:1: unknown key "colour": use service_label, scrape_interval, budget_period, rate_limited_share, objectives or burn_rates
slo.yaml:9:5: burn rate short window 6h0m0s is not shorter than its long window 6h0m0s: the short window only exists to reset the alert quickly; make it about 1/12 of the long window (30m0s)
slo.yaml:10:5: burn rate short window 30s holds fewer than two scrapes at scrape_interval 30s, so rate() over it is empty and the alert cannot fire: use at least 1m0s
`
	if got := problemStrings(problems); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestNewPlan(t *testing.T) {
	plan, problems := slo.NewPlan(slotest.Service, slotest.Table(), nil)
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if plan.Label != "shop" {
		t.Errorf("label %q, want shop", plan.Label)
	}
	var names []string
	for _, m := range plan.Methods {
		names = append(names, m.Policy.Name)
	}
	if got := strings.Join(names, ","); got != "GetCart,Pay,WatchOrder" {
		t.Errorf("methods %s: the disabled Debug must be left out, the rest sorted", got)
	}
	if o := plan.Methods[1].Objective; o.Latency != 50*time.Millisecond || o.Availability != 0.999 {
		t.Errorf("Pay (gold) objective %+v, want 50ms / 0.999", o)
	}
	if plan.Methods[2].LatencyAlert {
		t.Error("WatchOrder streams: its handling time is its lifetime, it must get no latency alert")
	}
}

func TestNewPlanObjectiveLongerThanTimeout(t *testing.T) {
	cfg, problems := slo.ParseConfig("slo.yaml", []byte(`objectives:
  /shop.v1.CheckoutService/GetCart:
    latency: 300ms
  /shop.v1.CheckoutService/Pay: {availability: 0.9}
  /shop.v1.CheckoutService/Gone: {latency: 1s}
`))
	if len(problems) != 0 {
		t.Fatal(problems)
	}
	table := slotest.Table()
	slow := &policy.Method{FullMethod: "/shop.v1.CheckoutService/Slow", Service: slotest.Service, Name: "Slow", Tier: policy.TierBronze, Timeout: 500 * time.Millisecond}
	table[slow.FullMethod] = slow
	_, problems = slo.NewPlan(slotest.Service, table, cfg)
	problems = append(problems, cfg.Unused(func(m string) bool { return table[m] != nil })...)
	want := `slo.yaml:3:14: latency objective 300ms of /shop.v1.CheckoutService/GetCart is not shorter than its timeout 300ms: calls are cut at the timeout, so the P99 can never exceed 300ms and the alert could never fire; lower the objective below 300ms or raise the method's timeout
slo.yaml:4:48: burn rate 14.4x over 1h0m0s/5m0s cannot fire for /shop.v1.CheckoutService/Pay: with availability 0.9 it needs an error ratio of 1.44, above 100%; raise the availability objective above 0.9306 or lower the factor below 10
/shop.v1.CheckoutService/Slow: warning: tier bronze's latency objective 1s for Slow is not shorter than its timeout 500ms, so it can never be missed and no latency alert is generated: declare a shorter objective in the objectives file (objectives: {"/shop.v1.CheckoutService/Slow": {latency: 250ms}}) or raise the timeout
slo.yaml:5:44: warning: objective for /shop.v1.CheckoutService/Gone names no governed method of the generated services, so it is not applied: fix the name (/package.Service/Method) or remove it
`
	if got := problemStrings(problems); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestNewPlanNoGovernedMethods(t *testing.T) {
	table := policy.Table{"/x.v1.Off/A": {FullMethod: "/x.v1.Off/A", Service: "x.v1.Off", Name: "A", Disabled: true}}
	plan, problems := slo.NewPlan("x.v1.Off", table, nil)
	if len(plan.Methods) != 0 || len(problems) != 1 || problems[0].Severity != slo.Warning || !strings.Contains(problems[0].Message, "no governed methods") {
		t.Fatalf("want one warning about no governed methods, got %v", problems)
	}
}
