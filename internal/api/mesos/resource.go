package mesos

// Resource is one named quantity of an agent: cpus, mem, disk and gpus are scalars, ports are
// ranges. Resources offered to a framework carry its role in AllocationInfo.
type Resource struct {
	Name           string          `json:"name"`
	Type           ValueType       `json:"type"`
	Scalar         *ScalarValue    `json:"scalar,omitempty"`
	Ranges         *RangesValue    `json:"ranges,omitempty"`
	Set            *SetValue       `json:"set,omitempty"`
	Role           string          `json:"role,omitempty"`
	AllocationInfo *AllocationInfo `json:"allocation_info,omitempty"`
}

// AllocationInfo names the role a resource is allocated to (MULTI_ROLE frameworks).
type AllocationInfo struct {
	Role string `json:"role,omitempty"`
}

// Resources is a list of resources. Arithmetic on it lives in resources.go.
type Resources []Resource
