package client

import (
	"encoding/json"
	"testing"
)

func TestWithLoadBalancingKeepsTheMethodConfig(t *testing.T) {
	sc := `{"methodConfig":[{"name":[{"service":"inventory.v1.InventoryService"}],"timeout":"0.8s"}],"retryThrottling":{"maxTokens":10,"tokenRatio":0.1}}`
	out, err := withLoadBalancing(sc, json.RawMessage(`[{"govern_region_aware":{}}]`))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"methodConfig", "retryThrottling", "loadBalancingConfig"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("the merged service config %s lost %s", out, key)
		}
	}
	if string(doc["loadBalancingConfig"]) != `[{"govern_region_aware":{}}]` {
		t.Errorf("loadBalancingConfig = %s", doc["loadBalancingConfig"])
	}
}
