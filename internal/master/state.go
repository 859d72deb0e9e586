package master

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/marina-dcos/marina/internal/api/mesos"
	"github.com/marina-dcos/marina/internal/coord"
	"github.com/marina-dcos/marina/internal/master/allocator"
)

// Bounds on what the master remembers of the past.
const (
	maxStatuses            = 10   // status history kept per task
	maxCompletedTasks      = 1000 // completed tasks kept per framework
	maxCompletedFrameworks = 50   // removed frameworks kept for the operator API
)

// leaderState is everything a leading master keeps in memory for one term. It is created when
// the master wins an election and dropped when it loses it. Every field is guarded by Master.mu.
type leaderState struct {
	term        coord.Term
	id          string    // this term's master ID
	elected     time.Time // wall clock
	electedMono time.Time // real clock

	agents              map[string]*agent
	frameworks          map[string]*framework
	completedFrameworks []*framework // oldest first
	offers              map[string]*offer
	alloc               *allocator.Allocator

	nextAgent, nextFramework, nextOffer int
	recovering                          int // agents with recovered set

	persist    *persister
	allocKick  chan struct{} // has a value when an allocation pass is wanted
	wakes      []time.Time   // (real) times a pass is wanted, as filters expire; sorted
	wakeSignal chan struct{}
	wg         sync.WaitGroup
	done       bool // set when the term ended

	// Counters of tasks that reached a terminal (or unreachable) state this term.
	terminal map[mesos.TaskState]int

	ops opHub // operator API event subscribers
}

// taskKey names a task on an agent: task IDs are unique per framework only.
type taskKey struct{ framework, task string }

type task struct {
	info            mesos.TaskInfo
	frameworkID     string
	agentID         string
	role            string
	resources       mesos.Resources // what the task holds in the allocator, with AllocationInfo
	state           mesos.TaskState
	statuses        []mesos.TaskStatus // oldest first, at most maxStatuses
	unreachableTime time.Time
	executor        *mesos.ExecutorInfo // the task group's executor (LAUNCH_GROUP)
}

func (t *task) latest() *mesos.TaskStatus {
	if len(t.statuses) == 0 {
		return nil
	}
	return &t.statuses[len(t.statuses)-1]
}

// addStatus records s in the task's history unless it is a retry of one already recorded.
func (t *task) addStatus(s mesos.TaskStatus) {
	if len(s.UUID) > 0 {
		for i := range t.statuses {
			if string(t.statuses[i].UUID) == string(s.UUID) {
				return
			}
		}
	}
	t.statuses = append(t.statuses, s)
	if n := len(t.statuses); n > maxStatuses {
		t.statuses = append([]mesos.TaskStatus(nil), t.statuses[n-maxStatuses:]...)
	}
}

type agent struct {
	id       string
	info     mesos.AgentInfo // ID set
	pid      string          // "slave(1)@ip:port"
	version  string
	conn     *agentConn // nil while disconnected
	lastSeen time.Time  // real clock: the last record received

	registeredTime   time.Time
	reregisteredTime time.Time
	// recovered: known from the registry, not re-registered with this master yet.
	recovered       bool
	unreachable     bool
	unreachableTime time.Time
	// deactivated: the operator stopped offers of the agent (DEACTIVATE_AGENT or DRAIN_AGENT).
	deactivated bool
	drain       *drainInfo // set while the agent drains or once it drained

	tasks  map[taskKey]*task
	offers map[string]*offer
}

// inAllocator reports whether the allocator accounts for the agent.
func (a *agent) inAllocator() bool { return !a.recovered && !a.unreachable }

// active reports whether the agent is connected and offered.
func (a *agent) active() bool {
	return a.conn != nil && !a.unreachable && !a.recovered && !a.deactivated
}

type framework struct {
	id       string
	info     mesos.FrameworkInfo // ID set
	pid      string
	conn     *schedConn // nil while disconnected
	streamID string

	// recovered: known from the registry or from a re-registering agent, not subscribed to this
	// master yet.
	recovered        bool
	registeredTime   time.Time
	reregisteredTime time.Time
	unregisteredTime time.Time
	disconnectedAt   time.Time // wall clock; the failover timeout runs from here

	tasks       map[string]*task
	unreachable map[string]*task
	completed   []*task // oldest first, at most maxCompletedTasks
	offers      map[string]*offer
}

func (f *framework) partitionAware() bool {
	return f.info.HasCapability(mesos.CapabilityPartitionAware)
}

func (f *framework) connected() bool { return f.conn != nil }

func (f *framework) addCompleted(t *task) {
	f.completed = append(f.completed, t)
	if n := len(f.completed); n > maxCompletedTasks {
		f.completed = append([]*task(nil), f.completed[n-maxCompletedTasks:]...)
	}
}

func (f *framework) findCompleted(id string) *task {
	for i := len(f.completed) - 1; i >= 0; i-- {
		if f.completed[i].info.TaskID.Value == id {
			return f.completed[i]
		}
	}
	return nil
}

type offer struct {
	id          string
	frameworkID string
	agentID     string
	role        string
	resources   mesos.Resources // with AllocationInfo
	created     time.Time       // real clock
}

func newLeaderState(term coord.Term, now time.Time, alloc *allocator.Allocator) *leaderState {
	return &leaderState{
		term:        term,
		id:          newUUID(),
		elected:     now,
		electedMono: time.Now(),
		agents:      map[string]*agent{},
		frameworks:  map[string]*framework{},
		offers:      map[string]*offer{},
		alloc:       alloc,
		allocKick:   make(chan struct{}, 1),
		wakeSignal:  make(chan struct{}, 1),
		terminal:    map[mesos.TaskState]int{},
	}
}

func newAgent(id string) *agent {
	return &agent{id: id, tasks: map[taskKey]*task{}, offers: map[string]*offer{}}
}

func newFramework(id string, info mesos.FrameworkInfo) *framework {
	info.ID = &mesos.ID{Value: id}
	return &framework{
		id:          id,
		info:        info,
		pid:         "scheduler-" + newUUID() + "@0.0.0.0:0",
		tasks:       map[string]*task{},
		unreachable: map[string]*task{},
		offers:      map[string]*offer{},
	}
}

// recoveredAgents reports whether some agent of the registry has not re-registered yet.
func (st *leaderState) recoveredAgents() bool { return st.recovering > 0 }

func (st *leaderState) findCompletedFramework(id string) *framework {
	for _, f := range st.completedFrameworks {
		if f.id == id {
			return f
		}
	}
	return nil
}

// newUUID returns a random RFC 4122 version 4 UUID string.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newUUIDBytes returns 16 random bytes, as the uuid of a status update.
func newUUIDBytes() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

// seconds returns t as fractional seconds since the Unix epoch, as Mesos timestamps are.
func seconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// sortedOffers returns the framework's outstanding offers in id order.
func (f *framework) sortedOffers() []*offer {
	return slices.SortedFunc(maps.Values(f.offers), func(x, y *offer) int { return strings.Compare(x.id, y.id) })
}
