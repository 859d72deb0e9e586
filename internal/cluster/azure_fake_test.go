package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	computefake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	networkfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
	resourcesfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4/fake"
)

// fakeAzure is an in-memory Azure behind the SDK's own fake servers: resources put are kept
// and got back, a resource group's deletion deletes what it holds, and faults can be
// injected: throttling (429) of a resource's first creations, a VM whose creation fails.
type fakeAzure struct {
	mu        sync.Mutex
	resources map[string]any // "kind rg/name" -> the resource as put
	made      []string       // "kind name", in the order creations completed
	attempts  map[string]int // "kind name" -> creation requests that reached the fake server
	throttle  map[string]int // resource path suffix -> 429s still to answer to its PUTs
	puts      map[string]int // resource path suffix in throttle -> PUTs seen, 429s included
	failVM    string         // a VM whose creation fails with SkuNotAvailable
	conflicts map[string]int // "kind name" -> AnotherOperationInProgress answers still to give
	deleted   []string       // resource groups deleted
	nextPIP   int
}

func newFakeAzure() *fakeAzure {
	return &fakeAzure{resources: map[string]any{}, attempts: map[string]int{}, throttle: map[string]int{}, puts: map[string]int{}, conflicts: map[string]int{}}
}

// install makes every azure provider that NewProvider returns, until the test ends, talk to f
// with fake credentials and fast retries and polls.
func (f *fakeAzure) install(t *testing.T) {
	t.Helper()
	orig := providers["azure"]
	providers["azure"] = func(s map[string]string) (Provider, error) {
		a, err := NewAzure(s)
		if err != nil {
			return nil, err
		}
		f.attach(a)
		return a, nil
	}
	t.Cleanup(func() { providers["azure"] = orig })
}

// attach points a at f.
func (f *fakeAzure) attach(a *Azure) {
	a.cred = &azfake.TokenCredential{}
	a.clientOptions.Transport = f.transport()
	a.clientOptions.Retry = policy.RetryOptions{MaxRetries: 4, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
	a.pollEvery = time.Millisecond
	a.conflictBackoff = time.Millisecond
}

func fakeKey(kind, rg, name string) string { return kind + " " + rg + "/" + name }

// get answers a Get: the resource, or 404.
func fakeGet[T, R any](f *fakeAzure, kind, rg, name string, wrap func(T) R) (resp azfake.Responder[R], errResp azfake.ErrorResponder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.resources[fakeKey(kind, rg, name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, wrap(v.(T)), nil)
	return
}

// put records a creation attempt and answers a fault, or keeps v (after fill) and returns it.
func fakePut[T any](f *fakeAzure, kind, rg, name string, v T, fill func(*T)) (T, int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := kind + " " + name
	f.attempts[k]++
	if f.conflicts[k] > 0 {
		f.conflicts[k]--
		return v, http.StatusConflict, "AnotherOperationInProgress"
	}
	if kind == "vm" && name == f.failVM {
		return v, http.StatusConflict, "SkuNotAvailable"
	}
	if kind != "group" {
		if _, ok := f.resources[fakeKey("group", rg, "")]; !ok {
			return v, http.StatusNotFound, "ResourceGroupNotFound"
		}
	}
	if fill != nil {
		fill(&v)
	}
	f.resources[fakeKey(kind, rg, name)] = v
	f.made = append(f.made, k)
	return v, 0, ""
}

func fakeLRO[T, R any](f *fakeAzure, kind, rg, name string, v T, fill func(*T), wrap func(T) R) (resp azfake.PollerResponder[R], errResp azfake.ErrorResponder) {
	v, status, code := fakePut(f, kind, rg, name, v, fill)
	if status != 0 {
		errResp.SetResponseError(status, code)
		return
	}
	resp.SetTerminalResponse(http.StatusOK, wrap(v), nil)
	return
}

func fakeSync[T, R any](f *fakeAzure, kind, rg, name string, v T, wrap func(T) R) (resp azfake.Responder[R], errResp azfake.ErrorResponder) {
	v, status, code := fakePut(f, kind, rg, name, v, nil)
	if status != 0 {
		errResp.SetResponseError(status, code)
		return
	}
	resp.SetResponse(http.StatusOK, wrap(v), nil)
	return
}

// transport routes each request to the fake server of its resource provider.
func (f *fakeAzure) transport() policy.Transporter {
	res := resourcesfake.NewServerFactoryTransport(&resourcesfake.ServerFactory{ResourceGroupsServer: resourcesfake.ResourceGroupsServer{
		Get: func(_ context.Context, rg string, _ *armresources.ResourceGroupsClientGetOptions) (azfake.Responder[armresources.ResourceGroupsClientGetResponse], azfake.ErrorResponder) {
			return fakeGet(f, "group", rg, "", func(v armresources.ResourceGroup) armresources.ResourceGroupsClientGetResponse {
				return armresources.ResourceGroupsClientGetResponse{ResourceGroup: v}
			})
		},
		CreateOrUpdate: func(_ context.Context, rg string, v armresources.ResourceGroup, _ *armresources.ResourceGroupsClientCreateOrUpdateOptions) (azfake.Responder[armresources.ResourceGroupsClientCreateOrUpdateResponse], azfake.ErrorResponder) {
			v.Name = to.Ptr(rg)
			return fakeSync(f, "group", rg, "", v, func(v armresources.ResourceGroup) armresources.ResourceGroupsClientCreateOrUpdateResponse {
				return armresources.ResourceGroupsClientCreateOrUpdateResponse{ResourceGroup: v}
			})
		},
		BeginDelete: func(_ context.Context, rg string, _ *armresources.ResourceGroupsClientBeginDeleteOptions) (resp azfake.PollerResponder[armresources.ResourceGroupsClientDeleteResponse], errResp azfake.ErrorResponder) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.resources[fakeKey("group", rg, "")]; !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceGroupNotFound")
				return
			}
			for k := range f.resources {
				if strings.Contains(k, " "+rg+"/") {
					delete(f.resources, k)
				}
			}
			f.deleted = append(f.deleted, rg)
			resp.SetTerminalResponse(http.StatusOK, armresources.ResourceGroupsClientDeleteResponse{}, nil)
			return
		},
	}})
	network := networkfake.NewServerFactoryTransport(&networkfake.ServerFactory{
		SecurityGroupsServer: networkfake.SecurityGroupsServer{
			Get: func(_ context.Context, rg, name string, _ *armnetwork.SecurityGroupsClientGetOptions) (azfake.Responder[armnetwork.SecurityGroupsClientGetResponse], azfake.ErrorResponder) {
				return fakeGet(f, "nsg", rg, name, func(v armnetwork.SecurityGroup) armnetwork.SecurityGroupsClientGetResponse {
					return armnetwork.SecurityGroupsClientGetResponse{SecurityGroup: v}
				})
			},
			BeginCreateOrUpdate: func(_ context.Context, rg, name string, v armnetwork.SecurityGroup, _ *armnetwork.SecurityGroupsClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armnetwork.SecurityGroupsClientCreateOrUpdateResponse], azfake.ErrorResponder) {
				return fakeLRO(f, "nsg", rg, name, v, nil, func(v armnetwork.SecurityGroup) armnetwork.SecurityGroupsClientCreateOrUpdateResponse {
					return armnetwork.SecurityGroupsClientCreateOrUpdateResponse{SecurityGroup: v}
				})
			},
		},
		VirtualNetworksServer: networkfake.VirtualNetworksServer{
			Get: func(_ context.Context, rg, name string, _ *armnetwork.VirtualNetworksClientGetOptions) (azfake.Responder[armnetwork.VirtualNetworksClientGetResponse], azfake.ErrorResponder) {
				return fakeGet(f, "vnet", rg, name, func(v armnetwork.VirtualNetwork) armnetwork.VirtualNetworksClientGetResponse {
					return armnetwork.VirtualNetworksClientGetResponse{VirtualNetwork: v}
				})
			},
			BeginCreateOrUpdate: func(_ context.Context, rg, name string, v armnetwork.VirtualNetwork, _ *armnetwork.VirtualNetworksClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armnetwork.VirtualNetworksClientCreateOrUpdateResponse], azfake.ErrorResponder) {
				return fakeLRO(f, "vnet", rg, name, v, nil, func(v armnetwork.VirtualNetwork) armnetwork.VirtualNetworksClientCreateOrUpdateResponse {
					return armnetwork.VirtualNetworksClientCreateOrUpdateResponse{VirtualNetwork: v}
				})
			},
		},
		PublicIPAddressesServer: networkfake.PublicIPAddressesServer{
			Get: func(_ context.Context, rg, name string, _ *armnetwork.PublicIPAddressesClientGetOptions) (azfake.Responder[armnetwork.PublicIPAddressesClientGetResponse], azfake.ErrorResponder) {
				return fakeGet(f, "pip", rg, name, func(v armnetwork.PublicIPAddress) armnetwork.PublicIPAddressesClientGetResponse {
					return armnetwork.PublicIPAddressesClientGetResponse{PublicIPAddress: v}
				})
			},
			BeginCreateOrUpdate: func(_ context.Context, rg, name string, v armnetwork.PublicIPAddress, _ *armnetwork.PublicIPAddressesClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], azfake.ErrorResponder) {
				fill := func(v *armnetwork.PublicIPAddress) {
					// TEST-NET-3 (RFC 5737): documentation addresses, never reached.
					f.nextPIP++
					v.Properties.IPAddress = to.Ptr(fmt.Sprintf("203.0.113.%d", f.nextPIP))
				}
				return fakeLRO(f, "pip", rg, name, v, fill, func(v armnetwork.PublicIPAddress) armnetwork.PublicIPAddressesClientCreateOrUpdateResponse {
					return armnetwork.PublicIPAddressesClientCreateOrUpdateResponse{PublicIPAddress: v}
				})
			},
		},
		InterfacesServer: networkfake.InterfacesServer{
			Get: func(_ context.Context, rg, name string, _ *armnetwork.InterfacesClientGetOptions) (azfake.Responder[armnetwork.InterfacesClientGetResponse], azfake.ErrorResponder) {
				return fakeGet(f, "nic", rg, name, func(v armnetwork.Interface) armnetwork.InterfacesClientGetResponse {
					return armnetwork.InterfacesClientGetResponse{Interface: v}
				})
			},
			BeginCreateOrUpdate: func(_ context.Context, rg, name string, v armnetwork.Interface, _ *armnetwork.InterfacesClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armnetwork.InterfacesClientCreateOrUpdateResponse], azfake.ErrorResponder) {
				return fakeLRO(f, "nic", rg, name, v, nil, func(v armnetwork.Interface) armnetwork.InterfacesClientCreateOrUpdateResponse {
					return armnetwork.InterfacesClientCreateOrUpdateResponse{Interface: v}
				})
			},
		},
	})
	compute := computefake.NewServerFactoryTransport(&computefake.ServerFactory{
		AvailabilitySetsServer: computefake.AvailabilitySetsServer{
			Get: func(_ context.Context, rg, name string, _ *armcompute.AvailabilitySetsClientGetOptions) (azfake.Responder[armcompute.AvailabilitySetsClientGetResponse], azfake.ErrorResponder) {
				return fakeGet(f, "avset", rg, name, func(v armcompute.AvailabilitySet) armcompute.AvailabilitySetsClientGetResponse {
					return armcompute.AvailabilitySetsClientGetResponse{AvailabilitySet: v}
				})
			},
			CreateOrUpdate: func(_ context.Context, rg, name string, v armcompute.AvailabilitySet, _ *armcompute.AvailabilitySetsClientCreateOrUpdateOptions) (azfake.Responder[armcompute.AvailabilitySetsClientCreateOrUpdateResponse], azfake.ErrorResponder) {
				return fakeSync(f, "avset", rg, name, v, func(v armcompute.AvailabilitySet) armcompute.AvailabilitySetsClientCreateOrUpdateResponse {
					return armcompute.AvailabilitySetsClientCreateOrUpdateResponse{AvailabilitySet: v}
				})
			},
		},
		VirtualMachinesServer: computefake.VirtualMachinesServer{
			Get: func(_ context.Context, rg, name string, _ *armcompute.VirtualMachinesClientGetOptions) (azfake.Responder[armcompute.VirtualMachinesClientGetResponse], azfake.ErrorResponder) {
				return fakeGet(f, "vm", rg, name, func(v armcompute.VirtualMachine) armcompute.VirtualMachinesClientGetResponse {
					return armcompute.VirtualMachinesClientGetResponse{VirtualMachine: v}
				})
			},
			BeginCreateOrUpdate: func(_ context.Context, rg, name string, v armcompute.VirtualMachine, _ *armcompute.VirtualMachinesClientBeginCreateOrUpdateOptions) (azfake.PollerResponder[armcompute.VirtualMachinesClientCreateOrUpdateResponse], azfake.ErrorResponder) {
				return fakeLRO(f, "vm", rg, name, v, nil, func(v armcompute.VirtualMachine) armcompute.VirtualMachinesClientCreateOrUpdateResponse {
					return armcompute.VirtualMachinesClientCreateOrUpdateResponse{VirtualMachine: v}
				})
			},
			InstanceView: func(_ context.Context, rg, name string, _ *armcompute.VirtualMachinesClientInstanceViewOptions) (azfake.Responder[armcompute.VirtualMachinesClientInstanceViewResponse], azfake.ErrorResponder) {
				return fakeGet(f, "vm", rg, name, func(armcompute.VirtualMachine) armcompute.VirtualMachinesClientInstanceViewResponse {
					return armcompute.VirtualMachinesClientInstanceViewResponse{VirtualMachineInstanceView: armcompute.VirtualMachineInstanceView{
						Statuses: []*armcompute.InstanceViewStatus{{Code: to.Ptr("ProvisioningState/succeeded")}, {Code: to.Ptr("PowerState/running")}},
					}}
				})
			},
			BeginRunCommand: func(_ context.Context, rg, name string, in armcompute.RunCommandInput, _ *armcompute.VirtualMachinesClientBeginRunCommandOptions) (resp azfake.PollerResponder[armcompute.VirtualMachinesClientRunCommandResponse], errResp azfake.ErrorResponder) {
				f.mu.Lock()
				defer f.mu.Unlock()
				if _, ok := f.resources[fakeKey("vm", rg, name)]; !ok {
					errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
					return
				}
				script := strings.Join(vals(in.Script), "\n")
				msg := "Enable succeeded: \n[stdout]\n" + name + " ran: " + script + "\nsecond line\n\n[stderr]\n"
				resp.SetTerminalResponse(http.StatusOK, armcompute.VirtualMachinesClientRunCommandResponse{
					RunCommandResult: armcompute.RunCommandResult{Value: []*armcompute.InstanceViewStatus{{Message: to.Ptr(msg)}}},
				}, nil)
				return
			},
		},
	})
	return routeTransport{f: f, compute: compute, network: network, resources: res}
}

// routeTransport sends each request to the fake of its resource provider, or answers 429 Too
// Many Requests to a PUT that is to be throttled, as Azure Resource Manager does: an HTTP
// response (the fake servers' own errors are final and never retried).
type routeTransport struct {
	f                           *fakeAzure
	compute, network, resources policy.Transporter
}

func (t routeTransport) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && t.f.takeThrottle(req.URL.Path) {
		return &http.Response{
			StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests", Request: req,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   io.NopCloser(strings.NewReader(`{"error":{"code":"TooManyRequests","message":"throttled"}}`)),
		}, nil
	}
	switch p := req.URL.Path; {
	case strings.Contains(p, "/providers/Microsoft.Compute/"):
		return t.compute.Do(req)
	case strings.Contains(p, "/providers/Microsoft.Network/"):
		return t.network.Do(req)
	}
	return t.resources.Do(req)
}

// takeThrottle counts a PUT of path and reports whether to throttle it.
func (f *fakeAzure) takeThrottle(path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for suffix, left := range f.throttle {
		if !strings.HasSuffix(strings.ToLower(path), strings.ToLower(suffix)) {
			continue
		}
		f.puts[suffix]++
		if left > 0 {
			f.throttle[suffix]--
			return true
		}
	}
	return false
}

// madeList returns the creations that completed, in order.
func (f *fakeAzure) madeList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.made)
}

// count returns how many resources f holds.
func (f *fakeAzure) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.resources)
}

// resource returns the resource kind rg/name as put, or nil.
func (f *fakeAzure) resource(kind, rg, name string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resources[fakeKey(kind, rg, name)]
}
