package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v4"
)

// azureClients are the SDK clients the provider uses, made once.
type azureClients struct {
	groups *armresources.ResourceGroupsClient
	nsgs   *armnetwork.SecurityGroupsClient
	vnets  *armnetwork.VirtualNetworksClient
	pips   *armnetwork.PublicIPAddressesClient
	nics   *armnetwork.InterfacesClient
	avsets *armcompute.AvailabilitySetsClient
	vms    *armcompute.VirtualMachinesClient
}

// client returns the SDK clients, making them (and finding credentials) on first use.
func (a *Azure) client() (*azureClients, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.clients != nil {
		return a.clients, nil
	}
	if a.s.subscription == "" {
		return nil, errors.New("azure: no subscription: set AZURE_SUBSCRIPTION_ID or --setting subscription=<id>")
	}
	cred := a.cred
	if cred == nil {
		var err error
		if cred, err = azureCredential(); err != nil {
			return nil, err
		}
	}
	opts := a.clientOptions
	res, err := armresources.NewClientFactory(a.s.subscription, cred, &opts)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	netw, err := armnetwork.NewClientFactory(a.s.subscription, cred, &opts)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	comp, err := armcompute.NewClientFactory(a.s.subscription, cred, &opts)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	a.clients = &azureClients{
		groups: res.NewResourceGroupsClient(),
		nsgs:   netw.NewSecurityGroupsClient(),
		vnets:  netw.NewVirtualNetworksClient(),
		pips:   netw.NewPublicIPAddressesClient(),
		nics:   netw.NewInterfacesClient(),
		avsets: comp.NewAvailabilitySetsClient(),
		vms:    comp.NewVirtualMachinesClient(),
	}
	return a.clients, nil
}

// azureCredential chains the environment's service principal or workload identity, the Azure
// CLI's login and the machine's managed identity, in that order.
func azureCredential() (azcore.TokenCredential, error) {
	var chain []azcore.TokenCredential
	var errs []error
	if env, err := azidentity.NewEnvironmentCredential(nil); err == nil {
		chain = append(chain, env)
	} else {
		errs = append(errs, err)
	}
	if cli, err := azidentity.NewAzureCLICredential(nil); err == nil {
		chain = append(chain, cli)
	} else {
		errs = append(errs, err)
	}
	if mi, err := azidentity.NewManagedIdentityCredential(nil); err == nil {
		chain = append(chain, mi)
	} else {
		errs = append(errs, err)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("azure: no credentials: %w", errors.Join(errs...))
	}
	cred, err := azidentity.NewChainedTokenCredential(chain, nil)
	if err != nil {
		return nil, fmt.Errorf("azure: credentials: %w", err)
	}
	return cred, nil
}

// isNotFound reports whether err is Azure's 404.
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// isRetryable reports whether err is a conflict Azure clears by itself (another operation on
// the resource under way); throttling and server errors are the SDK retry policy's.
func isRetryable(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return re.StatusCode == http.StatusConflict && (re.ErrorCode == "AnotherOperationInProgress" || re.ErrorCode == "RetryableError")
}

// ensure adopts a resource that get finds, or makes it with create, and says which on a line
// of its own. create must be idempotent (Azure's create-or-update is): a conflict that clears
// by itself is retried with backoff. created reports whether the resource was made now.
func (a *Azure) ensure(ctx context.Context, kind, name string, get, create func(context.Context) error) (created bool, err error) {
	switch err := get(ctx); {
	case err == nil:
		a.note("  = %s %s exists", kind, name)
		return false, nil
	case !isNotFound(err):
		return false, fmt.Errorf("azure: get %s %s: %w", kind, name, err)
	}
	start := a.now()
	backoff := a.conflictBackoff
	for attempt := 1; ; attempt++ {
		err = create(ctx)
		if err == nil {
			break
		}
		if !isRetryable(err) || attempt == 5 {
			a.note("  ✗ %s %s: %s", kind, name, azureShortErr(err))
			return false, fmt.Errorf("azure: create %s %s: %w", kind, name, err)
		}
		if err := sleep(ctx, backoff); err != nil {
			return false, err
		}
		backoff *= 2
	}
	a.note("  + %s %s created (%s)", kind, name, fmtSeconds(a.now().Sub(start)))
	return true, nil
}

// azureShortErr is an Azure error in a line: its code and status, or the error itself.
func azureShortErr(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("%s (HTTP %d)", re.ErrorCode, re.StatusCode)
	}
	return oneLine(err)
}

// parallel runs every fn at once and joins their errors: one failure does not stop the others,
// and every failure is reported.
func parallel(ctx context.Context, fns ...func(context.Context) error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// pollOptions poll a long-running operation every a.pollEvery.
func (a *Azure) pollOptions() *runtime.PollUntilDoneOptions {
	return &runtime.PollUntilDoneOptions{Frequency: a.pollEvery}
}

// awaitDone waits until the long-running operation p, which began with err, is done.
func awaitDone[T any](ctx context.Context, a *Azure, p *runtime.Poller[T], err error) error {
	if err == nil {
		_, err = p.PollUntilDone(ctx, a.pollOptions())
	}
	return err
}

// groupOwner reads the resource group's cluster tag; exists is false when there is no group.
func (a *Azure) groupOwner(ctx context.Context, cl *azureClients, c *Cluster) (owner string, exists bool, err error) {
	g, err := cl.groups.Get(ctx, a.group(c), nil)
	if isNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if t := g.Tags[azureClusterTag]; t != nil {
		owner = *t
	}
	return owner, true, nil
}
