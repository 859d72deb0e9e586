package mesos

// ID is the shape of every Mesos identifier (FrameworkID, AgentID, OfferID, TaskID, ExecutorID).
type ID struct {
	Value string `json:"value"`
}

// NewID returns an ID with the given value, for use in composite literals of optional fields.
func NewID(v string) *ID { return &ID{Value: v} }

// ValueType names the kind of a Resource or Attribute value.
type ValueType string

// Value types.
const (
	Scalar ValueType = "SCALAR"
	Ranges ValueType = "RANGES"
	Set    ValueType = "SET"
	Text   ValueType = "TEXT"
)

// ScalarValue is a floating point quantity; Mesos keeps three decimal digits.
type ScalarValue struct {
	Value float64 `json:"value"`
}

// RangesValue is a list of inclusive ranges.
type RangesValue struct {
	Range []Range `json:"range"`
}

// Range is an inclusive range of integers, as used for ports.
type Range struct {
	Begin uint64 `json:"begin"`
	End   uint64 `json:"end"`
}

// SetValue is a set of strings.
type SetValue struct {
	Item []string `json:"item"`
}

// TextValue is a string.
type TextValue struct {
	Value string `json:"value"`
}

// Label is a key/value pair attached to tasks, frameworks and statuses.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// Labels wraps a list of labels, as Mesos does.
type Labels struct {
	Labels []Label `json:"labels"`
}

// DurationInfo is a duration in nanoseconds.
type DurationInfo struct {
	Nanoseconds int64 `json:"nanoseconds"`
}

// TimeInfo is an instant in nanoseconds since the Unix epoch.
type TimeInfo struct {
	Nanoseconds int64 `json:"nanoseconds"`
}

// Address is a network address of a master or agent.
type Address struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
	Port     int32  `json:"port"`
}

// MasterInfo describes the leading master.
type MasterInfo struct {
	ID       string   `json:"id"`
	IP       uint32   `json:"ip"`
	Port     uint32   `json:"port"`
	PID      string   `json:"pid,omitempty"`
	Hostname string   `json:"hostname,omitempty"`
	Version  string   `json:"version,omitempty"`
	Address  *Address `json:"address,omitempty"`
}

// AgentInfo describes an agent: where it is, what it has, and its attributes.
type AgentInfo struct {
	Hostname   string      `json:"hostname"`
	Port       int32       `json:"port,omitempty"`
	Resources  Resources   `json:"resources,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
	ID         *ID         `json:"id,omitempty"`
}

// Attribute is a property of an agent that frameworks match constraints against.
type Attribute struct {
	Name   string       `json:"name"`
	Type   ValueType    `json:"type"`
	Scalar *ScalarValue `json:"scalar,omitempty"`
	Ranges *RangesValue `json:"ranges,omitempty"`
	Set    *SetValue    `json:"set,omitempty"`
	Text   *TextValue   `json:"text,omitempty"`
}

// Filters tell the master how long not to offer a declined agent's resources again.
type Filters struct {
	RefuseSeconds *float64 `json:"refuse_seconds,omitempty"`
}

// DefaultRefuseSeconds is the filter duration Mesos applies when a call carries none.
const DefaultRefuseSeconds = 5.0

// Refuse returns the filter duration in seconds, applying the Mesos default.
func (f *Filters) Refuse() float64 {
	if f == nil || f.RefuseSeconds == nil {
		return DefaultRefuseSeconds
	}
	return *f.RefuseSeconds
}
