package ocitest

import (
	"net/http"
	"strings"
	"testing"
)

// TestStart checks each mode with plain net/http: anonymous answers /v2/
// at once; basic wants the account; token sends the client to our issuer,
// whose token the real registry then accepts.
func TestStart(t *testing.T) {
	for _, mode := range []Mode{Anonymous, Basic, Token} {
		t.Run(mode.String(), func(t *testing.T) {
			r := Start(t, mode)
			get := func(user, pass, bearer string) *http.Response {
				req, _ := http.NewRequest("GET", "http://"+r.Host()+"/v2/", nil)
				if user != "" {
					req.SetBasicAuth(user, pass)
				}
				if bearer != "" {
					req.Header.Set("Authorization", "Bearer "+bearer)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			switch mode {
			case Anonymous:
				if resp := get("", "", ""); resp.StatusCode != 200 {
					t.Fatalf("anonymous /v2/: %d", resp.StatusCode)
				}
			case Basic:
				if resp := get("", "", ""); resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
					t.Fatalf("no credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
				}
				if resp := get(r.Username, "wrong", ""); resp.StatusCode != 401 {
					t.Fatalf("wrong password: %d", resp.StatusCode)
				}
				if resp := get(r.Username, r.Password, ""); resp.StatusCode != 200 {
					t.Fatalf("right password: %d", resp.StatusCode)
				}
			case Token:
				resp := get("", "", "")
				ch := resp.Header.Get("WWW-Authenticate")
				if resp.StatusCode != 401 || !strings.HasPrefix(ch, "Bearer realm=") {
					t.Fatalf("no token: %d %q", resp.StatusCode, ch)
				}
				if resp := get("", "", "not-a-jwt"); resp.StatusCode != 401 {
					t.Fatalf("garbage token: %d", resp.StatusCode)
				}
				realm := ch[len(`Bearer realm="`):]
				realm = realm[:strings.IndexByte(realm, '"')]
				req, _ := http.NewRequest("GET", realm+"?service="+service, nil)
				req.SetBasicAuth(r.Username, r.Password)
				tr, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body strings.Builder
				buf := make([]byte, 4096)
				for {
					n, err := tr.Body.Read(buf)
					body.WriteString(string(buf[:n]))
					if err != nil {
						break
					}
				}
				tr.Body.Close()
				tok := body.String()
				tok = tok[strings.Index(tok, `"token":"`)+len(`"token":"`):]
				tok = tok[:strings.IndexByte(tok, '"')]
				if resp := get("", "", tok); resp.StatusCode != 200 {
					t.Fatalf("issued token refused: %d", resp.StatusCode)
				}
				if r.Tokens() != 1 {
					t.Errorf("tokens issued: %d", r.Tokens())
				}
			}
			if n := r.Requests("GET", "/v2/"); n < 1 {
				t.Errorf("access log has %d GET /v2/ lines: %q", n, r.AccessLog())
			}
		})
	}
}

func TestFindTool(t *testing.T) {
	if _, ok := FindTool("packgen-no-such-tool"); ok {
		t.Fatal("found a tool that does not exist")
	}
	if p, ok := FindTool("go"); !ok || p == "" {
		t.Skip("go not on PATH")
	}
}

func TestFindToolEnv(t *testing.T) {
	goBin, ok := FindTool("go")
	if !ok {
		t.Skip("go not on PATH")
	}
	t.Setenv("NOSUCHTOOL_BIN", goBin)
	if p, ok := FindTool("nosuchtool"); !ok || p != goBin {
		t.Errorf("$NOSUCHTOOL_BIN not used: %q %v", p, ok)
	}
}
