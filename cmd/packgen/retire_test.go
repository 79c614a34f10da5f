package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMERetire runs the README's "Retire a release" block line for
// line after its "GitOps in five minutes" block, a directory standing in
// for the bucket: the PR check passes, the build archives nothing new,
// fetch warns with the reason, and the rebuild check agrees. Then a
// system_state edit of the published pack.json is refused, pointing to
// the retirement file, and an entry naming no release fails at its line.
func TestREADMERetire(t *testing.T) {
	needGit(t)
	bin := packgenBinary(t)
	tmp := t.TempDir()
	reg := filepath.Join(tmp, "registry")
	env := readmeEnv(t, filepath.Dir(bin), "PACKGEN_PASSWORD=a long password", "BUCKET="+reg, "REGISTRY_URL="+reg)
	bash(t, tmp, env, readmeBlock(t, "gitops-five-minutes"))
	repo := filepath.Join(tmp, "packs-repo")
	out := bash(t, repo, env, readmeBlock(t, "retire-a-release"))
	for _, want := range []string{
		"0 packs, 0 errors",
		"warning: hello@0.1.0 is deprecated (retired: CVE-2026-0001 in the sample: move to 0.2.0): move to a newer version",
		"2 releases compared with git and rebuilt, 0 problems",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// log audit runs the same rebuild check.
	if out := bash(t, repo, env, `packgen log audit "$REGISTRY_URL" --repo . --key registry.pub --packs-dir packs`); !strings.Contains(out, "0 problems") {
		t.Errorf("log audit:\n%s", out)
	}
	shard, err := os.ReadFile(filepath.Join(reg, "packs", "hello", "index.json"))
	if err != nil || !strings.Contains(string(shard), `"retired":{"reason":"CVE-2026-0001 in the sample: move to 0.2.0","state":"deprecated"}`) {
		t.Errorf("published shard: %v\n%s", err, shard)
	}

	// The wrong ways, refused with what to do instead.
	for _, tc := range []struct{ name, edit, want string }{
		{"system_state in pack.json", `sed -i 's/"version": "0.1.0",/"version": "0.1.0", "annotations": {"system_state": "deleted"},/' packs/hello-0.1.0/pack.json`,
			"add it to packs/retired.yaml (hello: {0.1.0: {state: deprecated, reason: why}}"},
		{"an unknown release", `printf '  0.3.0: {state: deleted, reason: typo}\n' >> packs/retired.yaml`,
			"packs/retired.yaml:5:3: error: hello@0.3.0 is not a release"},
	} {
		bash(t, repo, env, tc.edit+` && git commit -qam "`+tc.name+`"`)
		for _, args := range [][]string{
			{"validate", "--packs-dir", "packs", "--changed-since", "HEAD~1"},
			{"build", "--packs-dir", "packs", "--out", "site", "--key", "registry.key"},
		} {
			cmd := exec.Command(bin, args...)
			cmd.Dir, cmd.Env = repo, env
			got, _ := cmd.CombinedOutput()
			if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(got), tc.want) {
				t.Errorf("%s: packgen %s: exit %d, want 1 and %q:\n%s", tc.name, args[0], cmd.ProcessState.ExitCode(), tc.want, got)
			}
		}
		bash(t, repo, env, "git reset -q --hard HEAD~1")
	}
}
