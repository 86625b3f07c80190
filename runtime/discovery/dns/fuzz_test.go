package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzParseReply feeds arbitrary bytes to the reply parser: it may reject
// them, never panic, and what it accepts has usable targets.
func FuzzParseReply(f *testing.F) {
	const name = "_grpc._tcp.inventory."
	m := new(mdns.Msg)
	m.SetQuestion(name, mdns.TypeSRV)
	m.Response = true
	m.Answer = append(m.Answer, &mdns.SRV{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeSRV, Class: mdns.ClassINET, Ttl: 30}, Port: 7001, Target: "a.inventory."})
	m.Extra = append(m.Extra, &mdns.A{Hdr: mdns.RR_Header{Name: "a.inventory.", Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 30}, A: []byte{127, 0, 0, 2}})
	good, err := m.Pack()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:5])
	f.Add(corruptFirstRDLength(good, len(name)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		srv, err := ParseReply(raw, name)
		if err != nil {
			return
		}
		for _, s := range srv {
			if s.Port == 0 || s.Target == "" || s.Target == "." {
				t.Fatalf("accepted an unusable SRV record %v", s)
			}
		}
	})
}
