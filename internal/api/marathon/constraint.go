package marathon

import (
	"regexp"
	"strconv"
)

// Constraint is a placement constraint: [field, operator] or [field, operator, value], for
// example ["hostname", "UNIQUE"] or ["rack", "GROUP_BY", "3"]. It marshals as a JSON array.
type Constraint []string

// Constraint operators.
const (
	OpUnique  = "UNIQUE"
	OpCluster = "CLUSTER"
	OpGroupBy = "GROUP_BY"
	OpLike    = "LIKE"
	OpUnlike  = "UNLIKE"
	OpMaxPer  = "MAX_PER"
	OpIs      = "IS"
)

// Field is the attribute (or "hostname", "@region", "@zone") the constraint applies to.
func (c Constraint) Field() string { return c.at(0) }

// Operator is the constraint's operator, such as UNIQUE.
func (c Constraint) Operator() string { return c.at(1) }

// Value is the operator's argument, "" when there is none (see HasValue).
func (c Constraint) Value() string { return c.at(2) }

// HasValue reports whether the constraint has a third element.
func (c Constraint) HasValue() bool { return len(c) > 2 }

func (c Constraint) at(i int) string {
	if i < len(c) {
		return c[i]
	}
	return ""
}

// validate checks one constraint as Marathon does, reporting at path (such as "/constraints(1)").
func (c Constraint) validate(path string, p *problems) {
	if len(c) < 2 || len(c) > 3 {
		p.add(path, "Each constraint must have either 2 or 3 fields")
		return
	}
	if c.Field() == "" {
		p.add(path, "Missing field and operator")
		return
	}
	switch c.Operator() {
	case OpUnique:
		if c.HasValue() {
			p.add(path, "Value specified but not used")
		}
	case OpCluster, OpIs:
		if !c.HasValue() || c.Value() == "" {
			p.add(path, "Missing value")
		}
	case OpGroupBy:
		if c.HasValue() && !isInt(c.Value()) {
			p.add(path, "Value was specified but is not a number")
		}
	case OpMaxPer:
		if !c.HasValue() || !isInt(c.Value()) {
			p.add(path, "Value was not specified or is not a number")
		}
	case OpLike, OpUnlike:
		if !c.HasValue() {
			p.add(path, "A regular expression value must be provided")
		} else if _, err := regexp.Compile(c.Value()); err != nil {
			p.addf(path, "'%s' is not a valid regular expression", c.Value())
		}
	default:
		p.add(path, "Constraint operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS")
	}
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 32)
	return err == nil
}
