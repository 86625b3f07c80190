package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints one row per service and then every finding, for people.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSERVER\tCLIENT\tADMIN\tPOLICY\tLINT\tSTATUS")
	governed := 0
	for _, s := range r.Services {
		status := "ok"
		if s.Governed() {
			governed++
		} else {
			status = strings.Join(s.Problems, "; ")
		}
		policy := "-"
		if len(s.Policies) > 0 {
			policy = strings.Join(s.Policies, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Package,
			wiring(s.GRPCServers, s.ServerGoverned), wiring(s.GRPCClients, s.ClientGoverned),
			yesNo(s.AdminWired), policy, len(s.Findings), status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Services {
		for _, f := range s.Findings {
			fmt.Fprintf(w, "%s: %s (%s)\n", f.Pos, f.Message, f.Analyzer)
		}
	}
	_, err := fmt.Fprintf(w, "%d of %d services fully governed\n", governed, len(r.Services))
	return err
}

// WriteJSON prints the report as indented JSON, for machines.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	out := struct {
		Services []Service `json:"services"`
		Governed int       `json:"governed"`
		Total    int       `json:"total"`
	}{Services: r.Services, Total: len(r.Services)}
	if out.Services == nil {
		out.Services = []Service{}
	}
	for i, s := range out.Services {
		if s.Governed() {
			out.Governed++
		}
		if s.Policies == nil {
			out.Services[i].Policies = []string{}
		}
		if s.Findings == nil {
			out.Services[i].Findings = []Finding{}
		}
		if s.Problems == nil {
			out.Services[i].Problems = []string{}
		}
	}
	return enc.Encode(out)
}

// wiring renders a count of servers or clients and whether govern options
// are used: "-" (none), "governed", or "UNGOVERNED".
func wiring(n int, governed bool) string {
	switch {
	case n == 0:
		return "-"
	case governed:
		return "governed"
	default:
		return "UNGOVERNED"
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
