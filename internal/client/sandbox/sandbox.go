package sandbox

import "cmp"

// MasterState is the part of a master's /master/state used to find tasks (Mesos' field names).
type MasterState struct {
	PID                 string      `json:"pid"`
	Leader              string      `json:"leader"`
	Slaves              []Agent     `json:"slaves"`
	Frameworks          []Framework `json:"frameworks"`
	CompletedFrameworks []Framework `json:"completed_frameworks"`
}

// Agent is an agent registered with the master.
type Agent struct {
	ID       string `json:"id"`
	PID      string `json:"pid"`
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
}

// Framework is a framework with its tasks, as the master knows them.
type Framework struct {
	ID               string `json:"id"`
	Tasks            []Task `json:"tasks"`
	UnreachableTasks []Task `json:"unreachable_tasks"`
	CompletedTasks   []Task `json:"completed_tasks"`
}

// Task is a task as the master knows it.
type Task struct {
	ID          string `json:"id"`
	FrameworkID string `json:"framework_id"`
	ExecutorID  string `json:"executor_id"`
	SlaveID     string `json:"slave_id"`
}

// Place is where a task runs, as the master names it.
type Place struct {
	Framework string // the framework's id
	Executor  string // the executor's id: the task's own when it has no executor
	Agent     string // the agent's id
}

// Dir is the sandbox directory of the place as an agent's /files paths name it.
func (p Place) Dir() string { return Dir(p.Framework, p.Executor) }

// Dir is the sandbox directory of a framework's executor as an agent's /files paths name it.
func Dir(framework, executor string) string { return framework + "/" + executor }

// Locate finds task id among the master's running, unreachable and completed tasks; ok is false
// when the master does not know it.
func (st *MasterState) Locate(id string) (p Place, ok bool) {
	for _, fws := range [][]Framework{st.Frameworks, st.CompletedFrameworks} {
		for _, f := range fws {
			for _, ts := range [][]Task{f.Tasks, f.UnreachableTasks, f.CompletedTasks} {
				for _, t := range ts {
					if t.ID == id {
						return Place{Framework: cmp.Or(t.FrameworkID, f.ID), Executor: cmp.Or(t.ExecutorID, t.ID), Agent: t.SlaveID}, true
					}
				}
			}
		}
	}
	return Place{}, false
}

// AgentState is the part of an agent's /state used to find sandboxes.
type AgentState struct {
	Frameworks          []AgentFramework `json:"frameworks"`
	CompletedFrameworks []AgentFramework `json:"completed_frameworks"`
}

// AgentFramework is a framework with its executors, as an agent knows them.
type AgentFramework struct {
	ID                 string     `json:"id"`
	Executors          []Executor `json:"executors"`
	CompletedExecutors []Executor `json:"completed_executors"`
}

// Executor is an executor with its sandbox directory and tasks.
type Executor struct {
	ID             string   `json:"id"`
	Directory      string   `json:"directory"`
	Tasks          []TaskID `json:"tasks"`
	QueuedTasks    []TaskID `json:"queued_tasks"`
	CompletedTasks []TaskID `json:"completed_tasks"`
}

// TaskID is a task as an executor lists it.
type TaskID struct {
	ID string `json:"id"`
}

// Directory returns the sandbox directory of the executor (or of the one that ran task) of
// framework fw ("": any framework); "" when the agent names none.
func (as *AgentState) Directory(fw, executor, task string) string {
	for _, fws := range [][]AgentFramework{as.Frameworks, as.CompletedFrameworks} {
		for _, f := range fws {
			if fw != "" && f.ID != fw {
				continue
			}
			for _, exs := range [][]Executor{f.Executors, f.CompletedExecutors} {
				for _, ex := range exs {
					if ex.Directory != "" && (ex.ID == executor || ex.runs(task)) {
						return ex.Directory
					}
				}
			}
		}
	}
	return ""
}

func (ex *Executor) runs(task string) bool {
	for _, ts := range [][]TaskID{ex.Tasks, ex.QueuedTasks, ex.CompletedTasks} {
		for _, t := range ts {
			if t.ID == task {
				return true
			}
		}
	}
	return false
}
