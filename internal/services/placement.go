package services

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/marina-dcos/marina/internal/api/mesos"
)

// This file is pure: it decides whether an instance fits an offer, with no state and no I/O.

// offerSpace is what is left of one offer while instances are placed on it.
type offerSpace struct {
	Role       string // the role the offer is allocated to
	AgentID    string
	Hostname   string
	Attributes map[string]string // flattened agent attributes
	CPUs, Mem  float64
	Disk, GPUs float64
	Ports      []mesos.Range // sorted, merged
}

// newOfferSpace returns the space of an offer.
func newOfferSpace(o mesos.Offer) *offerSpace {
	attrs := make(map[string]string, len(o.Attributes))
	for _, a := range o.Attributes {
		attrs[a.Name] = a.String()
	}
	return &offerSpace{
		Role:       offerRole(o),
		AgentID:    o.AgentID.Value,
		Hostname:   o.Hostname,
		Attributes: attrs,
		CPUs:       o.Resources.Scalar("cpus"),
		Mem:        o.Resources.Scalar("mem"),
		Disk:       o.Resources.Scalar("disk"),
		GPUs:       o.Resources.Scalar("gpus"),
		Ports:      o.Resources.RangesOf("ports"),
	}
}

// demand is what one instance of an app needs.
type demand struct {
	Role         string // the offers' role it may use
	CPUs, Mem    float64
	Disk, GPUs   float64
	Ports        []int // one per port definition; 0 asks for any port
	RequirePorts bool  // the non-zero ports are the host ports themselves
	Constraints  [][]string
}

// placed is where one live instance of the app runs, for constraints.
type placed struct {
	Host       string
	Attributes map[string]string
}

// epsilon absorbs float rounding in resource comparisons (Mesos keeps three decimals).
const epsilon = 1e-6

// fit reserves one instance of d in s when the offer is of d's role, it fits and the constraints
// allow it, given the instances already placed, and returns the host ports it got. s is left
// untouched otherwise.
func fit(s *offerSpace, d demand, others []placed) ([]int, bool) {
	if s.Role != d.Role {
		return nil, false
	}
	if s.CPUs+epsilon < d.CPUs || s.Mem+epsilon < d.Mem || s.Disk+epsilon < d.Disk || s.GPUs+epsilon < d.GPUs {
		return nil, false
	}
	if !meetsConstraints(s, d.Constraints, others) {
		return nil, false
	}
	ports, left, ok := pickPorts(s.Ports, d.Ports, d.RequirePorts)
	if !ok {
		return nil, false
	}
	s.CPUs -= d.CPUs
	s.Mem -= d.Mem
	s.Disk -= d.Disk
	s.GPUs -= d.GPUs
	s.Ports = left
	return ports, true
}

// Why an offer cannot take an instance, as Marathon's queue names it, in the order Marathon
// checks.
var rejectReasons = []string{"UnfulfilledRole", "UnfulfilledConstraint", "InsufficientCpus", "InsufficientMemory", "InsufficientDisk", "InsufficientGpus", "InsufficientPorts"}

// unfit returns every reason why one instance of d does not fit s, in rejectReasons' order;
// none when it fits.
func unfit(s *offerSpace, d demand, others []placed) []string {
	var out []string
	if s.Role != d.Role {
		out = append(out, rejectReasons[0])
	}
	if !meetsConstraints(s, d.Constraints, others) {
		out = append(out, rejectReasons[1])
	}
	for i, lack := range []bool{s.CPUs+epsilon < d.CPUs, s.Mem+epsilon < d.Mem, s.Disk+epsilon < d.Disk, s.GPUs+epsilon < d.GPUs} {
		if lack {
			out = append(out, rejectReasons[2+i])
		}
	}
	if _, _, ok := pickPorts(s.Ports, d.Ports, d.RequirePorts); !ok {
		out = append(out, rejectReasons[6])
	}
	return out
}

// pickPorts takes the ports wanted out of avail: fixed ones exactly when require is set, any
// free port (lowest first) for the others. It returns the ports in request order and what is left.
func pickPorts(avail []mesos.Range, want []int, require bool) ([]int, []mesos.Range, bool) {
	if len(want) == 0 {
		return nil, avail, true
	}
	left := slices.Clone(avail)
	out := make([]int, len(want))
	// Fixed ports first, so a dynamic pick never takes a port a later fixed one needs.
	for i, p := range want {
		if !require || p == 0 {
			continue
		}
		var ok bool
		if left, ok = takePort(left, uint64(p)); !ok {
			return nil, avail, false
		}
		out[i] = p
	}
	for i, p := range want {
		if require && p != 0 {
			continue
		}
		if len(left) == 0 {
			return nil, avail, false
		}
		port := left[0].Begin
		left, _ = takePort(left, port)
		out[i] = int(port)
	}
	return out, left, true
}

// takePort removes port from rs, reporting whether it was there.
func takePort(rs []mesos.Range, port uint64) ([]mesos.Range, bool) {
	for i, r := range rs {
		if port < r.Begin || port > r.End {
			continue
		}
		var repl []mesos.Range
		if r.Begin < port {
			repl = append(repl, mesos.Range{Begin: r.Begin, End: port - 1})
		}
		if port < r.End {
			repl = append(repl, mesos.Range{Begin: port + 1, End: r.End})
		}
		out := slices.Concat(rs[:i:i], repl, rs[i+1:])
		return out, true
	}
	return rs, false
}

// Constraint operators, as Marathon names them.
const (
	opUnique  = "UNIQUE"
	opCluster = "CLUSTER"
	opGroupBy = "GROUP_BY"
	opLike    = "LIKE"
	opUnlike  = "UNLIKE"
	opMaxPer  = "MAX_PER"
	opIs      = "IS"
)

// meetsConstraints reports whether an instance may run on the offer's agent.
func meetsConstraints(s *offerSpace, constraints [][]string, others []placed) bool {
	for _, c := range constraints {
		if len(c) < 2 {
			continue
		}
		if !meets(s, c, others) {
			return false
		}
	}
	return true
}

func meets(s *offerSpace, c []string, others []placed) bool {
	field, op, arg := c[0], strings.ToUpper(c[1]), ""
	if len(c) > 2 {
		arg = c[2]
	}
	val, ok := fieldValue(field, s.Hostname, s.Attributes)
	if !ok {
		// An agent without the attribute matches only the negative operators.
		return op == opUnlike
	}
	count := func(v string) int {
		n := 0
		for _, p := range others {
			if pv, ok := fieldValue(field, p.Host, p.Attributes); ok && pv == v {
				n++
			}
		}
		return n
	}
	switch op {
	case opUnique:
		return count(val) == 0
	case opCluster:
		if arg != "" {
			return val == arg
		}
		for _, p := range others {
			if pv, ok := fieldValue(field, p.Host, p.Attributes); ok {
				return pv == val
			}
		}
		return true
	case opLike, opUnlike:
		re, err := regexp.Compile("^(?:" + arg + ")$")
		if err != nil {
			return false
		}
		return re.MatchString(val) == (op == opLike)
	case opIs:
		return val == arg || scalarEqual(val, arg)
	case opMaxPer:
		n, err := strconv.Atoi(arg)
		if err != nil {
			return false
		}
		return count(val) < n
	case opGroupBy:
		return groupByAllows(field, val, arg, others)
	}
	return false
}

// groupByAllows follows Marathon: an offer matches when its value has no instance yet, or when
// there are at least the minimum number of groups and its group is one of the smallest.
func groupByAllows(field, val, arg string, others []placed) bool {
	minimum := 0
	if n, err := strconv.Atoi(arg); err == nil {
		minimum = n
	}
	groups := map[string]int{}
	for _, p := range others {
		if pv, ok := fieldValue(field, p.Host, p.Attributes); ok {
			groups[pv]++
		}
	}
	n, seen := groups[val]
	if !seen {
		return true
	}
	smallest := n
	for _, c := range groups {
		smallest = min(smallest, c)
	}
	return len(groups) >= minimum && n == smallest
}

// fieldValue returns the value of a constraint's field on an agent: its hostname, or an attribute.
func fieldValue(field, host string, attrs map[string]string) (string, bool) {
	if field == "hostname" || field == "@hostname" {
		return host, true
	}
	v, ok := attrs[field]
	return v, ok
}

func scalarEqual(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && x == y
}
