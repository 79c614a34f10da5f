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
		"retirements: hello@0.1.0 deprecated (CVE-2026-0001 in the sample: move to 0.2.0)", // the build, beside added:
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// log audit runs the same rebuild check, in the quick tour's words
	// (its URL this registry's): the retirement file is the packs dir's.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, tour, _ := strings.Cut(string(readme), "\npackgen log audit https://packs.acme.example ")
	tour, _, _ = strings.Cut(tour, "#")
	if out := bash(t, repo, env, `packgen log audit "$REGISTRY_URL" `+tour); !strings.Contains(out, "0 problems") {
		t.Errorf("log audit as the quick tour gives it:\n%s", out)
	}
	// Without --packs-dir the hint names the command run (stranger5
	// finding 11), not verify.
	if out := bash(t, repo, env, `packgen log audit "$REGISTRY_URL" --repo . --key registry.pub || true`); !strings.Contains(out, "give log audit --packs-dir as the build was given it") {
		t.Errorf("log audit without --packs-dir:\n%s", out)
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

	// Every release deleted: the build warns, info says no release is
	// live (not "latest 0.2.0"), and the build lists the changes. Then
	// a change handing both back (the file removed) is a warning in the
	// PR check, naming each and why it was retired, and the build lists
	// them un-retired (attackS F2, F3).
	out = bash(t, repo, env, `printf 'hello:\n  0.1.0: {state: deleted, reason: CVE-2026-0001}\n  0.2.0: {state: deleted, reason: CVE-2026-0002}\n' > packs/retired.yaml && git commit -qam "delete hello" &&
packgen build --packs-dir packs --out site --key registry.key --previous "$REGISTRY_URL" 2>&1 && packgen info hello --site site`)
	for _, want := range []string{
		"packs/retired.yaml: warning: every release of hello is deleted",
		"retirements: hello@0.1.0 deprecated -> deleted (CVE-2026-0001; was: CVE-2026-0001 in the sample: move to 0.2.0), hello@0.2.0 deleted (CVE-2026-0002)",
		", no live release (newest: 0.2.0, deleted)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("every release deleted: no %q in\n%s", want, out)
		}
	}
	out = bash(t, repo, env, `git rm -q packs/retired.yaml && git commit -qm "un-retire hello" &&
packgen validate --packs-dir packs --changed-since HEAD~1 2>&1; packgen build --packs-dir packs --out site --key registry.key -o json`)
	for _, want := range []string{
		"packs/retired.yaml: warning: this change un-retires hello@0.1.0, deleted since base for: CVE-2026-0001",
		"packs/retired.yaml: warning: this change un-retires hello@0.2.0, deleted since base for: CVE-2026-0002",
		`"retirements": [
    {
      "name": "hello",
      "version": "0.1.0",
      "old": {
        "state": "deleted",
        "reason": "CVE-2026-0001"
      },
      "new": null
    },`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("un-retired: no %q in\n%s", want, out)
		}
	}
}
