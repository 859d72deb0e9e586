package process

import (
	"strconv"
	"strings"

	"github.com/marina-dcos/marina/internal/agent/cgroups"
	"github.com/marina-dcos/marina/internal/agent/executor"
	"github.com/marina-dcos/marina/internal/api/mesos"
)

// maxPortVars bounds the PORTn variables a task gets from a huge ports range.
const maxPortVars = 1000

// Env returns a task's environment: base, then the Mesos variables (MESOS_TASK_ID,
// MESOS_FRAMEWORK_ID, MESOS_AGENT_ID, MESOS_SANDBOX, MESOS_DIRECTORY, HOST), then PORT0..PORTn
// and PORTS from the task's ports resources, then the task's own variables. A later source wins
// a name, keeping the first position, so no name appears twice.
func Env(base []string, spec executor.Spec) []string {
	var keys []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			set(k, v)
		}
	}
	set("MESOS_TASK_ID", spec.Task.TaskID.Value)
	set("MESOS_FRAMEWORK_ID", spec.FrameworkID)
	set("MESOS_AGENT_ID", spec.AgentID)
	set("MESOS_SANDBOX", spec.Sandbox)
	set("MESOS_DIRECTORY", spec.Sandbox)
	set("HOST", spec.Hostname)
	ports := Ports(spec.Task.Resources)
	if len(ports) > 0 {
		strs := make([]string, len(ports))
		for i, p := range ports {
			strs[i] = strconv.FormatUint(p, 10)
			set("PORT"+strconv.Itoa(i), strs[i])
		}
		set("PORTS", strings.Join(strs, ","))
	}
	if c := spec.Task.Command; c != nil && c.Environment != nil {
		for _, v := range c.Environment.Variables {
			if v.Name != "" && (v.Type == "" || v.Type == "VALUE") {
				set(v.Name, v.Value)
			}
		}
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + vals[k]
	}
	return out
}

// Ports lists the ports of rs' "ports" resources in the order the task was given them.
func Ports(rs mesos.Resources) []uint64 {
	var out []uint64
	for _, r := range rs {
		if r.Name != mesos.ResourcePorts || r.Ranges == nil {
			continue
		}
		for _, rg := range r.Ranges.Range {
			for p := rg.Begin; p <= rg.End && len(out) < maxPortVars; p++ {
				out = append(out, p)
			}
		}
	}
	return out
}

// LimitsOf returns the cgroup limits of a task's resources: mem (MB) and cpus.
func LimitsOf(rs mesos.Resources) cgroups.Limits {
	return cgroups.Limits{
		MemoryBytes: int64(rs.Scalar(mesos.ResourceMem) * (1 << 20)),
		CPUs:        rs.Scalar(mesos.ResourceCPUs),
	}
}
