// Package ocitest runs the real CNCF distribution registry (the `registry`
// binary, v3.1.2) on a free loopback port for tests, with filesystem
// storage in a temp dir, in three modes: anonymous, htpasswd basic auth,
// and token auth. For token auth the registry is real and only the token
// issuer is ours: a small HTTP handler in the test process that checks the
// basic-auth credentials and issues JWTs signed by an ephemeral key whose
// self-signed certificate is the registry's rootcertbundle, as the
// distribution docs describe. By default it answers GET /token on the
// registry's own host:port, in front of the registry (a plain reverse
// proxy for every other path, as Harbor serves /service/token):
// go-containerregistry, and so cosign, refuse a loopback realm anywhere
// else. Config.IssuerElsewhere puts it on a port of its own instead.
//
// Tool finds the other outside binaries (oras, cosign). A missing tool
// skips the test, except under CI=true where it fails it
// (scripts/test-tools.sh lists what was skipped at the end of make test).
package ocitest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"go/build"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"
)

// TB is what starting a registry needs of its caller: a testing.TB, or
// the bench driver's stand-in (bench/cmd/benchtable starts the same
// registries to time publishing against them, and is no test).
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	TempDir() string
	Cleanup(func())
}

// Mode is how the registry authenticates.
type Mode int

const (
	Anonymous Mode = iota // no auth: anyone may push and pull
	Basic                 // htpasswd basic auth
	Token                 // distribution token auth through our issuer
)

func (m Mode) String() string {
	return [...]string{"anonymous", "basic", "token"}[m]
}

// The account the Basic and Token registries accept.
const (
	User     = "packgen"
	Password = "packgen-test-password"
)

// Registry is a running registry.
type Registry struct {
	Mode     Mode
	Username string // empty for Anonymous
	Password string
	// Dir is the registry's storage root (filesystem driver).
	Dir string
	// CAFile is the PEM of the CA that signed the registry's certificate
	// (StartWith with TLS; "" on plain HTTP).
	CAFile string

	tls     *tls.Certificate
	backend http.Handler // Token mode: the proxy to the registry behind the front

	host   string
	pid    int
	stop   func() // stops the registry process, once (Stop, cleanup)
	mu     sync.Mutex
	log    []string
	logged time.Time // when the last access-log line came
	tokens int
	// ready is the URL of the registry's /v2/; AccessLog's barrier
	// requests go there, and barrierSeen is the last one logged.
	ready       string
	barriers    int
	barrierSeen int

	private []string // Config.Private
}

// Host is "127.0.0.1:PORT".
func (r *Registry) Host() string { return r.host }

// PID is the registry process's (the bench reads its CPU time).
func (r *Registry) PID() int { return r.pid }

// PlainHTTP says whether the registry speaks http (not https).
func (r *Registry) PlainHTTP() bool { return r.tls == nil }

// URL is "http://127.0.0.1:PORT" or "https://…".
func (r *Registry) URL() string {
	if r.tls == nil {
		return "http://" + r.host
	}
	return "https://" + r.host
}

// httpClient trusts the registry's CA.
func (r *Registry) httpClient() *http.Client {
	if r.tls == nil {
		return http.DefaultClient
	}
	pool := x509.NewCertPool()
	pool.AddCert(r.tls.Leaf)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// writeTLS makes a self-signed CA certificate for 127.0.0.1 and ::1 (one
// certificate: the CA and the server's), writing it as caFile and
// certFile and its key as keyFile.
func writeTLS(t TB, caFile, certFile, keyFile string) *tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "packgen test registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	for f, b := range map[string][]byte{caFile: certPEM, certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// logQuiet is how long the access log must have been still before
// AccessLog reads it, once its barrier line has come.
const logQuiet = 100 * time.Millisecond

// barrierParam marks AccessLog's own requests, which the log leaves out.
const barrierParam = "packgen-barrier="

// AccessLog returns the registry's access-log lines so far: one per
// request, like `"GET /v2/NAME/manifests/TAG HTTP/1.1" 200 …`. The
// registry writes a request's line after its response, so a client can
// be answered before the line comes (a loaded machine's TestPublishOCI
// counted 2 of the 3 HEADs it had sent, TestOCIWitness a line of the
// step before its count). AccessLog first makes a request of its own
// and waits for its line (5 s at most): the lines of requests answered
// before it are then in, but for the rare one written after a later
// response, which waiting until no line has come for logQuiet covers.
func (r *Registry) AccessLog() []string {
	r.mu.Lock()
	r.barriers++
	id := r.barriers
	r.mu.Unlock()
	if resp, err := r.httpClient().Get(r.ready + "?" + barrierParam + strconv.Itoa(id)); err == nil {
		resp.Body.Close()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			r.mu.Lock()
			seen := r.barrierSeen >= id
			r.mu.Unlock()
			if seen {
				break
			}
		}
	}
	for deadline := time.Now().Add(2 * time.Second); ; {
		r.mu.Lock()
		still := time.Since(r.logged)
		if still >= logQuiet || time.Now().After(deadline) {
			defer r.mu.Unlock()
			return append([]string(nil), r.log...)
		}
		r.mu.Unlock()
		time.Sleep(logQuiet - still)
	}
}

// Logged is how many access-log lines have come so far, without
// waiting for the log to be still: for polling while requests are
// being made (AccessLog would wait up to 2 s each time).
func (r *Registry) Logged() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// Requests counts the access-log lines whose request line starts with
// method and whose path contains pathPart ("" matches any).
func (r *Registry) Requests(method, pathPart string) int {
	n := 0
	for _, l := range r.AccessLog() {
		i := strings.Index(l, `"`+method+" ")
		if i < 0 {
			continue
		}
		req := l[i+1:]
		if j := strings.IndexByte(req, '"'); j >= 0 {
			req = req[:j]
		}
		if strings.Contains(req, pathPart) {
			n++
		}
	}
	return n
}

// Tokens counts the tokens our issuer handed out (Token mode).
func (r *Registry) Tokens() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokens
}

// Tool returns the path of an outside binary: $NAME_BIN, PATH, then each
// GOPATH's bin (where `go install`, and .ci/run, put them). Missing: the
// test is skipped, or failed under CI=true.
func Tool(t TB, name string) string {
	t.Helper()
	if p, ok := FindTool(name); ok {
		return p
	}
	msg := fmt.Sprintf("%s not found on PATH or in $(go env GOPATH)/bin (.ci/run installs it with go install; see scripts/test-tools.sh)", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": CI must run every test")
	}
	t.Skip(msg)
	return ""
}

// FindTool is Tool without the test: the path, and whether it was found.
// $NAME_BIN (COSIGN_BIN, ORAS_BIN, REGISTRY_BIN), when set, is used first,
// as sign's cosign test and scripts/test-tools.sh do.
func FindTool(name string) (string, bool) {
	if p := os.Getenv(strings.ToUpper(name) + "_BIN"); p != "" {
		if p, err := exec.LookPath(p); err == nil {
			return p, true
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(gp, "bin", name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// Start runs a registry in mode, on plain HTTP, until the test ends.
func Start(t TB, mode Mode) *Registry {
	t.Helper()
	return StartWith(t, Config{Mode: mode})
}

// Config says how to run a registry.
type Config struct {
	Mode Mode
	// TLS serves https (the token issuer too) with a certificate for
	// 127.0.0.1 from a fresh CA, whose PEM is Registry.CAFile.
	TLS bool
	// IssuerElsewhere (Token mode) serves the token realm on a port of
	// its own, as auth.docker.io is for Docker Hub. By default the realm
	// is on the registry's own host:port (GET /token), as Harbor's
	// /service/token is: the one place go-containerregistry (cosign)
	// accepts a loopback realm.
	IssuerElsewhere bool
	// Private (Token mode) lists repositories the issuer grants nothing
	// on, as a shared registry's private repositories: the registry
	// answers 401 for them and serves the others.
	Private []string
}

// StartWith runs a registry as c says until the test ends.
func StartWith(t TB, c Config) *Registry {
	t.Helper()
	bin := Tool(t, "registry")
	dir := t.TempDir()
	mode := c.Mode
	r := &Registry{Mode: mode, Dir: filepath.Join(dir, "storage"), private: c.Private}
	tlsCfg := ""
	if c.TLS {
		r.CAFile = filepath.Join(dir, "ca.pem")
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		r.tls = writeTLS(t, r.CAFile, certFile, keyFile)
		tlsCfg = fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", certFile, keyFile)
	}
	auth, front := r.auth(t, c, dir)
	if front != nil {
		tlsCfg = "" // the front server speaks TLS; the registry behind it plain HTTP
	}
	// A port picked by the kernel, released and handed to the registry:
	// another process could take it in between, so a failed start is
	// retried on a new port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listen := l.Addr().String()
		l.Close()
		r.host = listen
		if front != nil {
			r.host = front.Listener.Addr().String()
		}
		cfg := registryConfig(r.Dir, listen, tlsCfg, auth)
		cfgPath := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		ready := r.URL() + "/v2/"
		if front != nil {
			ready = "http://" + listen + "/v2/"
		}
		if lastErr = r.run(t, bin, cfgPath, ready); lastErr == nil {
			if front != nil {
				r.startFront(t, front, listen)
			}
			return r
		}
	}
	t.Fatalf("registry did not start: %v", lastErr)
	return nil
}

// auth sets up the registry's authentication of c.Mode in dir: its
// config.yml section and, in Token mode with the issuer on the registry's
// host, the front server (the registry's public face, serving /token too).
func (r *Registry) auth(t TB, c Config, dir string) (auth string, front *httptest.Server) {
	switch c.Mode {
	case Basic:
		r.Username, r.Password = User, Password
		hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(User+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: packgen-test\n    path: %s\n", htpasswd)
	case Token:
		r.Username, r.Password = User, Password
		bundle := filepath.Join(dir, "token-root.pem")
		var realm string
		if c.IssuerElsewhere {
			realm = r.startIssuer(t, bundle, nil)
		} else {
			front = httptest.NewUnstartedServer(nil)
			realm = r.startIssuer(t, bundle, front)
		}
		auth = fmt.Sprintf("auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n", realm, service, issuer, bundle)
	}
	return auth, front
}

// registryConfig is the distribution registry's config.yml. Its storage
// has the in-memory blob descriptor cache, as the config.yml the
// distribution image ships does (and real deployments, with it or
// redis): without it each blob the registry is asked about (a HEAD, a
// GET, every blob a manifest PUT names) costs a link file read and a
// stat in its storage, even for a blob it has just written.
func registryConfig(storage, listen, tlsCfg, auth string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: warn
  formatter: text
  accesslog:
    disabled: false
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: packgen-test-secret
%s%s`, storage, listen, tlsCfg, auth)
}

// run starts the binary and waits until /v2/ answers.
func (r *Registry) run(t TB, bin, cfgPath, ready string) error {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", cfgPath)
	// The registry reads REGISTRY_* variables as config overrides (and
	// podman's REGISTRY_AUTH_FILE, set by tests of credentials, would
	// become auth.file): none of the test's environment goes to it. No
	// OpenTelemetry exporter: it would try to reach a collector.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") && !strings.HasPrefix(kv, "OTEL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	dieWithTest(cmd)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		cancel()
		return err
	}
	r.pid = cmd.Process.Pid
	r.ready = ready
	var all []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			all = append(all, line)
			// Access-log lines are the combined log format's
			// `"METHOD /path HTTP/1.1" status`.
			if _, b, ok := strings.Cut(line, barrierParam); ok {
				if f := strings.Fields(b); len(f) > 0 {
					if id, err := strconv.Atoi(f[0]); err == nil && id > r.barrierSeen {
						r.barrierSeen = id
					}
				}
			} else if strings.Contains(line, ` /v2`) && strings.Contains(line, ` HTTP/`) {
				r.log = append(r.log, line)
				r.logged = time.Now()
			}
			r.mu.Unlock()
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	stop := func() {
		cancel()
		<-exited
		<-done
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			pw.Close()
			<-done
			cancel()
			r.mu.Lock()
			out := strings.Join(all, "\n")
			r.mu.Unlock()
			return fmt.Errorf("registry exited: %v\n%s", err, out)
		default:
		}
		resp, err := r.httpClient().Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("registry on %s not ready after 20s", r.host)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	r.stop = func() { once.Do(stop) }
	t.Cleanup(r.stop)
	return nil
}

const (
	service = "packgen-test-registry"
	issuer  = "packgen-test-issuer"
)

// startIssuer starts the token server and writes the certificate of its
// signing key to bundle. It returns the realm URL. With front, the
// issuer is front's /token (front is started, its other paths go to the
// registry once startFront says where it is); else a server of its own.
func (r *Registry) startIssuer(t TB, bundle string, front *httptest.Server) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: issuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5c", []string{encodeStd(cert.Raw)}))
	if err != nil {
		t.Fatal(err)
	}
	srv := front
	if srv == nil {
		srv = httptest.NewUnstartedServer(nil)
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if front != nil && req.URL.Path != "/token" {
			r.mu.Lock()
			backend := r.backend
			r.mu.Unlock()
			if backend == nil {
				http.Error(w, "registry not started yet", http.StatusServiceUnavailable)
				return
			}
			backend.ServeHTTP(w, req)
			return
		}
		r.issue(w, req, signer)
	})
	if r.tls != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*r.tls}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.URL + "/token"
}

// startFront points front's non-token paths at the registry on listen:
// a plain reverse proxy (streaming, Host kept, the scheme passed on so
// the registry's Location headers name the front).
func (r *Registry) startFront(t TB, front *httptest.Server, listen string) {
	target := &url.URL{Scheme: "http", Host: listen}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		FlushInterval: -1,
	}
	r.mu.Lock()
	r.backend = rp
	r.mu.Unlock()
}

// access is one grant of a token (distribution's ResourceActions).
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// issue answers a token request (GET realm?service=&scope=…): wrong
// credentials are refused with 401; none get a token without access (so
// the registry answers 401 again, as for an anonymous user of a private
// registry); the right ones get every scope asked for.
func (r *Registry) issue(w http.ResponseWriter, req *http.Request, signer jose.Signer) {
	user, pass, hasAuth := req.BasicAuth()
	if hasAuth && (user != r.Username || pass != r.Password) {
		w.Header().Set("WWW-Authenticate", `Basic realm="packgen-test"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
		return
	}
	if req.URL.Query().Get("service") != service {
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	grants := []access{}
	if hasAuth {
		for _, s := range req.URL.Query()["scope"] {
			// type:name:actions, where name may hold a port's colon
			// only for registry-level scopes; repository names do not.
			first := strings.IndexByte(s, ':')
			last := strings.LastIndexByte(s, ':')
			if first < 0 || last <= first {
				continue
			}
			if slices.Contains(r.private, s[first+1:last]) {
				continue
			}
			grants = append(grants, access{Type: s[:first], Name: s[first+1 : last], Actions: strings.Split(s[last+1:], ",")})
		}
	}
	now := time.Now()
	claims := struct {
		jwt.Claims
		Access []access `json:"access"`
	}{
		Claims: jwt.Claims{
			Issuer:    issuer,
			Subject:   user,
			Audience:  jwt.Audience{service},
			Expiry:    jwt.NewNumericDate(now.Add(5 * time.Minute)),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        fmt.Sprint(now.UnixNano()),
		},
		Access: grants,
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r.mu.Lock()
	r.tokens++
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300, "issued_at": now.UTC().Format(time.RFC3339)})
}

// encodeStd is the x5c header's encoding of a certificate (RFC 7515
// 4.1.6: standard base64 of the DER, not base64url).
func encodeStd(der []byte) string { return base64.StdEncoding.EncodeToString(der) }
