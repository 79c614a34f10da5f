// Package ocireg opens OCI registries and repositories through oras-go v2
// with credentials found the way every OCI tool finds them, and turns the
// library's errors into errors that name the reference, carry a sentinel
// (errors.Is) and say what to do.
//
// Credentials, first found wins:
//  1. Options.Username / Options.Password (the command's --username and
//     the password from the environment; for CI);
//  2. podman's (and skopeo's, buildah's) auth.json: the file named by
//     REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json
//     (where podman login writes) and ~/.config/containers/auth.json;
//  3. the docker config ($DOCKER_CONFIG/config.json or
//     ~/.docker/config.json), including its credsStore and credHelpers
//     (docker-credential-NAME programs).
//
// Basic auth and the distribution token flow are oras-go's auth.Client.
// Credentials only ever go to the registry's own host:port: a redirect
// (registries send blob GETs to blob storage) is followed without the
// Authorization header, and never from https down to http.
//
// Limits, as every download of packgen's: a request fails when no byte
// moves for Options.StallTimeout (from its start: a registry that
// accepts and never answers), and, with Options.Timeout, when it and its
// retries take longer; an attempt that ran into a limit is not retried.
package ocireg

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/packgen/packgen/internal/redirect"
	"github.com/packgen/packgen/internal/stall"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Sentinels for errors.Is.
var (
	ErrReference        = errors.New("invalid OCI reference")
	ErrPlainHTTP        = errors.New("plain HTTP refused")
	ErrCAFile           = errors.New("cannot use the CA file")
	ErrCredentials      = errors.New("cannot read registry credentials")
	ErrUnauthorized     = errors.New("registry refused access (401 Unauthorized)")
	ErrForbidden        = errors.New("registry forbids access (403 Forbidden)")
	ErrNotFound         = errors.New("not found in the registry")
	ErrUnreachable      = errors.New("registry unreachable")
	ErrInsecureRedirect = redirect.ErrInsecure
	ErrRedirects        = redirect.ErrTooMany
)

// PasswordEnv is the environment variable the commands read the
// password for --username from (never a flag: flags show in ps).
const PasswordEnv = "PACKGEN_OCI_PASSWORD"

// RegistryAuthFileEnv names podman's credentials file.
const RegistryAuthFileEnv = "REGISTRY_AUTH_FILE"

// Options say how to reach a registry.
type Options struct {
	// PlainHTTP talks http instead of https; only for loopback hosts
	// (127.0.0.0/8, ::1, localhost).
	PlainHTTP bool
	// CAFile is an extra PEM bundle of CAs trusted for the registry's TLS,
	// beside the system's.
	CAFile string
	// Username and Password, when Username is set, are used instead of
	// any stored credentials.
	Username string
	Password string
	// StallTimeout fails a request when no byte moves for this long
	// (0: DefaultStallTimeout): waiting for the answer's headers, in its
	// body, or while an upload's body is not being taken; a slow but
	// moving transfer is fine.
	StallTimeout time.Duration
	// Timeout bounds each request from sending it to the end of its
	// answer's body, retries included (0: none): a command's --timeout,
	// where it has one. Uploads (publish) have none: a silent registry
	// still fails them after StallTimeout.
	Timeout time.Duration
}

// DefaultStallTimeout is the stall timeout of every other download of
// packgen's (internal/transport's).
const DefaultStallTimeout = stall.Default

// ErrStalled: a request moved no byte for the stall timeout.
var ErrStalled = stall.ErrStalled

// ErrTimeout: a request did not finish within Options.Timeout (a slow
// drip that never stalls long enough to trip ErrStalled). The site
// transports' ErrTimeout is this one, so a timeout is one sentinel
// whichever source it came from.
var ErrTimeout = errors.New("download timed out")

const (
	maxRedirects = 10
	dialTimeout  = 10 * time.Second
)

// Repository opens the repository of ref ("host[:port]/path/name", with
// an optional ":tag" or "@digest" that becomes repo.Reference.Reference).
// Nothing is sent yet: errors from later calls go through Wrap.
func Repository(ctx context.Context, ref string, o Options) (*remote.Repository, error) {
	parsed, err := registry.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v (expected HOST[:PORT]/PATH/NAME[:TAG])", ErrReference, ref, err)
	}
	client, err := newClient(ctx, parsed.Registry, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	repo := &remote.Repository{Reference: parsed, Client: client, PlainHTTP: o.PlainHTTP}
	return repo, nil
}

// Clients opens repositories with one client per registry host, shared
// by every repository it opens: one connection pool (a TLS handshake per
// connection, not per repository) and one token cache (once a registry
// has asked for a token, oras-go asks its token service for each new
// repository's scope up front, without another 401 first). A publish
// opens a repository per release; each with a client of its own cost a
// new connection, a TLS handshake and a 401 per release. Credentials are
// looked up once per host, when its first repository is opened.
type Clients struct {
	o  Options
	mu sync.Mutex
	by map[string]*auth.Client // registry host → client
}

// NewClients opens repositories with o.
func NewClients(o Options) *Clients { return &Clients{o: o, by: map[string]*auth.Client{}} }

// Repository is Repository through the shared client of ref's host.
func (c *Clients) Repository(ctx context.Context, ref string) (*remote.Repository, error) {
	parsed, err := registry.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v (expected HOST[:PORT]/PATH/NAME[:TAG])", ErrReference, ref, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	client := c.by[parsed.Registry]
	if client == nil {
		if client, err = newClient(ctx, parsed.Registry, c.o); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		c.by[parsed.Registry] = client
	}
	return &remote.Repository{Reference: parsed, Client: client, PlainHTTP: c.o.PlainHTTP}, nil
}

// Registry opens the registry at host ("host[:port]").
func Registry(ctx context.Context, host string, o Options) (*remote.Registry, error) {
	reg, err := remote.NewRegistry(host)
	if err != nil || strings.ContainsAny(host, "/@") {
		return nil, fmt.Errorf("%w %q: expected HOST[:PORT]", ErrReference, host)
	}
	client, err := newClient(ctx, host, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", host, err)
	}
	reg.Client = client
	reg.PlainHTTP = o.PlainHTTP
	return reg, nil
}

// IsLoopback reports whether host ("name[:port]") is a loopback address
// or localhost: the only hosts plain HTTP is allowed to.
func IsLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// source records, per client, where its credentials came from, so that
// Wrap can say it on a 401.
var sources sync.Map // *auth.Client -> string

func newClient(ctx context.Context, host string, o Options) (*auth.Client, error) {
	if o.PlainHTTP && !IsLoopback(host) {
		return nil, fmt.Errorf("%w to %s: --plain-http is only allowed for loopback registries (127.0.0.1, ::1, localhost); use https, with --ca-file for a private CA", ErrPlainHTTP, host)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	base.Proxy = http.ProxyFromEnvironment
	// A publish sends up to publish.DefaultJobs requests at once through
	// one client: keep that many connections open between them, where
	// net/http keeps 2 and would open (and handshake) the others again.
	base.MaxIdleConnsPerHost = 16
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %v", ErrCAFile, o.CAFile, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w %s: no PEM certificate in it (expected a CA bundle, -----BEGIN CERTIFICATE-----)", ErrCAFile, o.CAFile)
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	silence := o.StallTimeout
	if silence <= 0 {
		silence = DefaultStallTimeout
	}
	// The stall watch is per attempt, under oras-go's retries; the
	// timeout is per request, over them, so retries never outlast it.
	hc := &http.Client{
		Transport: loopbackOnlyHTTP{&limitTransport{d: o.Timeout, base: &retry.Transport{
			Base:   &stall.Transport{Base: base, D: silence},
			Policy: func() retry.Policy { return boundedRetry{} },
		}}},
		CheckRedirect: redirect.Policy(maxRedirects),
	}
	cred, src, err := lookup(ctx, host, o)
	if err != nil {
		return nil, err
	}
	c := &auth.Client{
		Client:     hc,
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(host, cred),
	}
	c.SetUserAgent("packgen")
	if IsLoopback(host) {
		// oras-go refuses a token realm on loopback (a remote registry
		// must not steer the client at local services); a registry that
		// is itself on loopback may have its token issuer there too.
		var keep []netip.Prefix
		for _, p := range auth.DefaultBlockedRealmPrefixes() {
			if !p.Addr().IsLoopback() {
				keep = append(keep, p)
			}
		}
		c.BlockedRealmPrefixes = keep
	}
	sources.Store(c, src)
	return c, nil
}

// loopbackOnlyHTTP refuses any plain-http request to a host that is not
// loopback, wherever it comes from: --plain-http is for a loopback
// registry, but that registry names the hosts of its redirects (blob
// storage) and of its token realm, which oras-go lets be http when the
// registry is http, so credentials would cross the network in clear.
type loopbackOnlyHTTP struct{ base http.RoundTripper }

func (t loopbackOnlyHTTP) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.EqualFold(req.URL.Scheme, "https") && !IsLoopback(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s (a redirect or token realm named by the registry); plain http is only allowed to loopback hosts", ErrPlainHTTP, req.URL.Redacted())
	}
	return t.base.RoundTrip(req)
}

// boundedRetry is oras-go's default policy (429, 5xx, a reset
// connection: at most 5 retries, backing off up to 3 s) except that an
// attempt that ran into a limit is not tried again: a registry that sent
// nothing for the stall timeout, a dial or TLS handshake that timed out.
// Retrying those multiplied every limit by six (a silent registry held a
// command for six minutes).
type boundedRetry struct{}

func (boundedRetry) Retry(attempt int, resp *http.Response, err error) (time.Duration, error) {
	var nerr net.Error
	if err != nil && (errors.Is(err, ErrStalled) || errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &nerr) && nerr.Timeout())) {
		return -1, nil
	}
	return retry.DefaultPolicy.Retry(attempt, resp, err)
}

// limitTransport bounds a request, its retries and its answer's body by
// d (0: no bound), failing it with ErrTimeout.
type limitTransport struct {
	base http.RoundTripper
	d    time.Duration
}

func (l *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if l.d <= 0 {
		return l.base.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeoutCause(req.Context(), l.d,
		fmt.Errorf("%w: the request did not finish within the time limit of %s", ErrTimeout, l.d))
	resp, err := l.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		err = limitErr(ctx, err)
		cancel()
		return nil, err
	}
	resp.Body = &limitBody{rc: resp.Body, ctx: ctx, cancel: cancel}
	return resp, nil
}

// limitErr reports a request that ran out of time as its ErrTimeout
// cause (net/http and oras-go's retry wait say "context deadline
// exceeded" or "context canceled").
func limitErr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrTimeout) && !errors.Is(err, ErrTimeout) {
		return cause
	}
	return err
}

type limitBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
}

func (b *limitBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = limitErr(b.ctx, err)
	}
	return n, err
}

func (b *limitBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// lookup finds the credentials for host and says where they came from.
func lookup(ctx context.Context, host string, o Options) (auth.Credential, string, error) {
	if o.Username != "" {
		return auth.Credential{Username: o.Username, Password: o.Password}, "--username " + o.Username, nil
	}
	addr := credentials.ServerAddressFromHostname(host)
	// podman's files, in podman's order: REGISTRY_AUTH_FILE when set,
	// else where `podman login` writes ($XDG_RUNTIME_DIR/containers) and
	// the persistent one ($XDG_CONFIG_HOME or ~/.config /containers).
	type file struct{ path, name string }
	var files []file
	if f := os.Getenv(RegistryAuthFileEnv); f != "" {
		files = append(files, file{f, RegistryAuthFileEnv + "=" + f})
	} else {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			files = append(files, file{filepath.Join(d, "containers", "auth.json"), ""})
		}
		if d, err := os.UserConfigDir(); err == nil {
			files = append(files, file{filepath.Join(d, "containers", "auth.json"), ""})
		}
	}
	for _, f := range files {
		if f.name == "" {
			if _, err := os.Stat(f.path); err != nil {
				continue // podman's defaults are read only when present
			}
			f.name = f.path
		}
		st, err := credentials.NewStore(f.path, credentials.StoreOptions{})
		if err != nil {
			return auth.EmptyCredential, "", fmt.Errorf("%w from %s: %v", ErrCredentials, f.name, err)
		}
		cred, err := st.Get(ctx, addr)
		if err != nil {
			return auth.EmptyCredential, "", fmt.Errorf("%w for %s from %s: %v", ErrCredentials, host, f.name, err)
		}
		if cred != auth.EmptyCredential {
			return cred, f.name, nil
		}
	}
	st, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	if err != nil {
		return auth.EmptyCredential, "", fmt.Errorf("%w from the docker config: %v", ErrCredentials, err)
	}
	cred, err := st.Get(ctx, addr)
	if err != nil {
		// A credential helper that fails (not installed, locked keyring)
		// is the user's to fix: say which file named it.
		return auth.EmptyCredential, "", fmt.Errorf("%w for %s from %s: %v", ErrCredentials, host, st.ConfigPath(), err)
	}
	if cred != auth.EmptyCredential {
		return cred, st.ConfigPath(), nil
	}
	return auth.EmptyCredential, "", nil
}

// IsNotFound reports an oras-go error about a missing repository, tag,
// manifest or blob (errdef.ErrNotFound, or the registry's 404 answer).
func IsNotFound(err error) bool {
	if errors.Is(err, errdef.ErrNotFound) {
		return true
	}
	var er *errcode.ErrorResponse
	return errors.As(err, &er) && er.StatusCode == http.StatusNotFound
}

// Wrap turns err, returned by an oras-go call about ref made through
// client (repo.Client or reg.Client of this package), into an error that
// names ref, carries one of this package's sentinels and says what to
// do. nil stays nil; an error already wrapped is returned as it is.
func Wrap(ref string, client remote.Client, err error) error {
	if err == nil {
		return nil
	}
	var done *wrapped
	if errors.As(err, &done) {
		return err
	}
	for _, s := range []error{ErrReference, ErrPlainHTTP, ErrCAFile, ErrCredentials, ErrNoPassword} {
		if errors.Is(err, s) {
			return err // from opening: they name what they are about
		}
	}
	return &wrapped{wrap(ref, client, err)}
}

// Doing is Wrap(ref, client, err) said as what failed: "push REF: why",
// ref named once (Wrap's message starts with it; one returned as it was,
// from opening or wrapped before about another ref, gets it in front).
// nil stays nil.
func Doing(doing, ref string, client remote.Client, err error) error {
	w := Wrap(ref, client, err)
	if w == nil {
		return nil
	}
	if strings.HasPrefix(w.Error(), ref+": ") {
		return fmt.Errorf("%s %w", doing, w)
	}
	return fmt.Errorf("%s %s: %w", doing, ref, w)
}

// redactQueries drops the query of every http(s) URL in msg: an
// upload's URL carries its session token (distribution's _state), a
// redirect to storage its presigned signature, and errors are printed
// and kept in CI logs. The path says which request failed; the query
// says nothing more to the user. On the message, not the URL errors in
// the chain: oras-go and net/http format theirs as they wrap them.
func redactQueries(msg string) string {
	if !strings.Contains(msg, "?") {
		return msg
	}
	return queryRE().ReplaceAllString(msg, "${1}?REDACTED")
}

// queryRE matches a URL's query, up to what ends a URL in a message.
var queryRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(https?://[^\s"'?]*)\?[^\s"']*`) })

// wrapped marks an error Wrap made, so that wrapping it again keeps it.
type wrapped struct{ err error }

func (w *wrapped) Error() string { return redactQueries(w.err.Error()) }
func (w *wrapped) Unwrap() error { return w.err }

func wrap(ref string, client remote.Client, err error) error {
	host := ref
	if p, perr := registry.ParseReference(ref); perr == nil {
		host = p.Registry
	} else if i := strings.IndexByte(ref, '/'); i > 0 {
		host = ref[:i]
	}
	src := ""
	if c, ok := client.(*auth.Client); ok {
		if v, ok := sources.Load(c); ok {
			src = v.(string)
		}
	}
	login := fmt.Sprintf("run `docker login %s` (or podman login), or pass --username with the password in %s", host, PasswordEnv)
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		// A basic-auth registry asked, and there was nothing to send.
		return fmt.Errorf("%s: %w: no credentials found for %s (--username, %s or podman's auth.json, docker config and its credential helpers): %s: %v", ref, ErrUnauthorized, host, RegistryAuthFileEnv, login, err)
	}
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			if src == "" {
				return fmt.Errorf("%s: %w: no credentials found for %s (--username, %s or podman's auth.json, docker config and its credential helpers): %s: %v", ref, ErrUnauthorized, host, RegistryAuthFileEnv, login, err)
			}
			return fmt.Errorf("%s: %w: the credentials from %s were refused: %s: %v", ref, ErrUnauthorized, src, login, err)
		case http.StatusForbidden:
			who := "anonymous access"
			if src != "" {
				who = "the account from " + src
			}
			return fmt.Errorf("%s: %w: %s may not do this here; ask the registry's admin for access to the repository (a Harbor project's member role, an ECR policy), or check the path: %v", ref, ErrForbidden, who, err)
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w: check the registry, path, name and tag (for packs: HOST/BASE/spectro-packs/archive/NAME:VERSION): %v", ref, ErrNotFound, err)
		}
		return fmt.Errorf("%s: %w", ref, err)
	}
	if errors.Is(err, errdef.ErrNotFound) {
		return fmt.Errorf("%s: %w: check the registry, path, name and tag (for packs: HOST/BASE/spectro-packs/archive/NAME:VERSION): %v", ref, ErrNotFound, err)
	}
	// The limits are named by their values, not by flags: not every
	// command that reaches a registry has --timeout or --stall-timeout
	// (the CLI adds the flag where it has one).
	if errors.Is(err, ErrStalled) {
		return fmt.Errorf("%s: %w: %s stopped answering (a silent or overloaded registry, or a dead connection): try again later: %w", ref, ErrUnreachable, host, err)
	}
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%s: %w: %s did not finish the request in time: try again later: %w", ref, ErrUnreachable, host, err)
	}
	var dial *net.OpError
	if errors.As(err, &dial) && dial.Op == "dial" && dial.Timeout() {
		// net's timeouts match context.DeadlineExceeded too: this one is
		// the connect's own bound, not a limit the user can raise.
		return fmt.Errorf("%s: %w: %s did not accept a connection within %s: check the host and port and the network: %v", ref, ErrUnreachable, host, dialTimeout, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w: the time limit ran out before %s answered: try again later (%v)", ref, ErrUnreachable, ErrTimeout, host, err)
	}
	if errors.Is(err, ErrInsecureRedirect) || errors.Is(err, ErrRedirects) {
		return fmt.Errorf("%s: %w", ref, err)
	}
	if errors.Is(err, http.ErrSchemeMismatch) {
		// Without --plain-http every request is https: a local registry
		// that speaks http answers with this, which names no flag.
		return fmt.Errorf("%s: %w: %s speaks plain HTTP, not HTTPS: pass --plain-http (loopback registries only) where the command takes it, or configure the registry with packgen registry add NAME oci://… --plain-http and name it: %v", ref, ErrUnreachable, host, err)
	}
	var nerr net.Error
	var operr *net.OpError
	var dnserr *net.DNSError
	if errors.As(err, &operr) || errors.As(err, &dnserr) || (errors.As(err, &nerr) && nerr.Timeout()) {
		return fmt.Errorf("%s: %w: %s did not answer: check the host and port, the network, and whether it serves https (--plain-http is for loopback registries only): %v", ref, ErrUnreachable, host, err)
	}
	var terr *tls.CertificateVerificationError
	var uaerr x509.UnknownAuthorityError
	if errors.As(err, &terr) || errors.As(err, &uaerr) {
		return fmt.Errorf("%s: %w: %s's TLS certificate is not trusted: pass --ca-file with the CA that signed it: %v", ref, ErrUnreachable, host, err)
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// ErrNoPassword: --username without a password in PasswordEnv.
var ErrNoPassword = errors.New("no password for --username")

// WithEnvPassword fills Password from PACKGEN_OCI_PASSWORD when Username
// is set and Password is not (commands take the password from the
// environment, never from a flag: flags show in ps and shell history).
func (o Options) WithEnvPassword() (Options, error) {
	if o.Username == "" || o.Password != "" {
		return o, nil
	}
	o.Password = os.Getenv(PasswordEnv)
	if o.Password == "" {
		return o, fmt.Errorf("%w %s: set %s (in CI, from the secret store)", ErrNoPassword, o.Username, PasswordEnv)
	}
	return o, nil
}
