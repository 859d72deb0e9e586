package marathon

// Info is the body of GET /v2/info (RAML info.MarathonInfo).
type Info struct {
	Name            string          `json:"name"`
	Version         string          `json:"version"`
	BuildRef        string          `json:"buildref"`
	Elected         bool            `json:"elected"`
	Leader          string          `json:"leader,omitempty"`
	FrameworkID     string          `json:"frameworkId,omitempty"`
	MarathonConfig  MarathonConfig  `json:"marathon_config"`
	ZooKeeperConfig ZooKeeperConfig `json:"zookeeper_config"`
	HTTPConfig      HTTPConfig      `json:"http_config"`
}

// LeaderInfo is the body of GET /v2/leader.
type LeaderInfo struct {
	Leader string `json:"leader"`
}

// MarathonConfig is the configuration /v2/info reports; durations are in milliseconds.
type MarathonConfig struct {
	AccessControlAllowOrigin       []string `json:"access_control_allow_origin,omitzero"`
	Checkpoint                     *bool    `json:"checkpoint,omitempty"`
	DeclineOfferDuration           *int64   `json:"decline_offer_duration,omitempty"`
	DefaultNetworkName             string   `json:"default_network_name,omitempty"`
	EnvVarsPrefix                  string   `json:"env_vars_prefix,omitempty"`
	Executor                       string   `json:"executor,omitempty"`
	FailoverTimeout                *int64   `json:"failover_timeout,omitempty"`
	Features                       []string `json:"features"`
	FrameworkName                  string   `json:"framework_name,omitempty"`
	HA                             *bool    `json:"ha,omitempty"`
	Hostname                       string   `json:"hostname,omitempty"`
	LaunchToken                    *int     `json:"launch_token,omitempty"`
	LaunchTokenRefreshInterval     *int64   `json:"launch_token_refresh_interval,omitempty"`
	LeaderProxyConnectionTimeoutMs *int     `json:"leader_proxy_connection_timeout_ms,omitempty"`
	LeaderProxyReadTimeoutMs       *int     `json:"leader_proxy_read_timeout_ms,omitempty"`
	LocalPortMax                   *int     `json:"local_port_max,omitempty"`
	LocalPortMin                   *int     `json:"local_port_min,omitempty"`
	Master                         string   `json:"master,omitempty"`
	MaxInstancesPerOffer           *int     `json:"max_instances_per_offer,omitempty"`
	MesosBridgeName                string   `json:"mesos_bridge_name,omitempty"`
	MesosHeartbeatFailureThreshold *int     `json:"mesos_heartbeat_failure_threshold,omitempty"`
	MesosHeartbeatInterval         *int64   `json:"mesos_heartbeat_interval,omitempty"`
	MesosLeaderUIURL               string   `json:"mesos_leader_ui_url,omitempty"`
	MesosRole                      string   `json:"mesos_role,omitempty"`
	MesosUser                      string   `json:"mesos_user,omitempty"`
	MinReviveOffersInterval        *int64   `json:"min_revive_offers_interval,omitempty"`
	OfferMatchingTimeout           *int64   `json:"offer_matching_timeout,omitempty"`
	OnElectedPrepareTimeout        *int64   `json:"on_elected_prepare_timeout,omitempty"`
	ReconciliationInitialDelay     *int64   `json:"reconciliation_initial_delay,omitempty"`
	ReconciliationInterval         *int64   `json:"reconciliation_interval,omitempty"`
	ScaleAppsInitialDelay          *int64   `json:"scale_apps_initial_delay,omitempty"`
	ScaleAppsInterval              *int64   `json:"scale_apps_interval,omitempty"`
	StoreCache                     *bool    `json:"store_cache,omitempty"`
	TaskLaunchConfirmTimeout       *int64   `json:"task_launch_confirm_timeout,omitempty"`
	TaskLaunchTimeout              *int64   `json:"task_launch_timeout,omitempty"`
	TaskLostExpungeInitialDelay    int64    `json:"task_lost_expunge_initial_delay"`
	TaskLostExpungeInterval        int64    `json:"task_lost_expunge_interval"`
	TaskReservationTimeout         *int64   `json:"task_reservation_timeout,omitempty"`
	WebUIURL                       string   `json:"webui_url,omitempty"`
}

// ZooKeeperConfig is the coordination configuration /v2/info reports. Marina runs etcd in the
// ZooKeeper role; the field names stay Marathon's.
type ZooKeeperConfig struct {
	ZK                     string `json:"zk"`
	ZKCompression          *bool  `json:"zk_compression,omitempty"`
	ZKCompressionThreshold *int64 `json:"zk_compression_threshold,omitempty"`
	ZKConnectionTimeout    int64  `json:"zk_connection_timeout"`
	ZKMaxNodeSize          *int64 `json:"zk_max_node_size,omitempty"`
	ZKMaxVersions          int    `json:"zk_max_versions"`
	ZKSessionTimeout       int64  `json:"zk_session_timeout"`
	ZKTimeout              int64  `json:"zk_timeout"`
}

// HTTPConfig is the HTTP configuration /v2/info reports.
type HTTPConfig struct {
	HTTPPort  int `json:"http_port"`
	HTTPSPort int `json:"https_port"`
}
