package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/packgen/packgen/build"
	"github.com/packgen/packgen/client"
	"github.com/packgen/packgen/images"
	"github.com/packgen/packgen/internal/textsafe"
	"github.com/packgen/packgen/pack/meta"
	"github.com/packgen/packgen/sign"
	"github.com/packgen/packgen/source"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// version is set with -ldflags "-X main.version=...".
var version = ""

// commit is set with -ldflags "-X main.commit=..." where the Go toolchain
// cannot stamp it (a linked git worktree, a source tarball).
var commit = ""

// Exit codes. Scripts can rely on them.
const (
	exitOK      = 0 // success
	exitBad     = 1 // the thing checked is bad: validation errors, failed verification
	exitUsage   = 2 // wrong flags or arguments
	exitFailure = 3 // could not do the work: I/O, network, git
)

// errNotRegistry: a location given as a registry has no index.json. The
// same exit (1, what was checked is bad) in every command.
var errNotRegistry = build.ErrNotRegistry

// exitError carries an exit code with an error, and the problems that
// made a check fail, for -o json (see failureJSON).
type exitError struct {
	code     int
	err      error
	problems meta.Problems
	// refusal: exit 2 without the usage footer (refusalErr).
	refusal bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func badErr(err error) error { return &exitError{code: exitBad, err: err} }

// refusalErr is a security refusal the user lifts with a flag that says
// the risk is meant (build's --key over a signed registry, --new-log):
// exit 2, as the flag is theirs to add, but without the usage footer:
// the refusal says what to check and which flag to pass, and the
// command's help is not where that is.
func refusalErr(err error) error { return &exitError{code: exitUsage, err: err, refusal: true} }

// silentBad exits 1 without printing anything more (the command already
// reported the problems).
var silentBad = &exitError{code: exitBad, err: errors.New("")}

// globalOptions are shared by every command.
type globalOptions struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	quiet          bool
	config         string // registries config file
}

// interactive reports whether stderr is a terminal (for progress output).
func (g *globalOptions) interactive() bool {
	f, ok := g.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && !g.quiet
}

func (g *globalOptions) logf(format string, args ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stderr, format, args...)
	}
}

// warnf prints a warning on stderr, even with -q: -q silences what went
// well, never what a user must act on (an unsigned registry, an index
// about to expire), in every command alike.
func (g *globalOptions) warnf(format string, args ...any) {
	fmt.Fprintf(g.stderr, "warning: "+format, args...)
}

// summaryf prints a summary line on stdout, unless -q: quiet leaves only
// errors, and what a command exists to print (a list, a report's problems,
// -o json).
func (g *globalOptions) summaryf(format string, args ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stdout, format, args...)
	}
}

type command func(g *globalOptions) *cobra.Command

var commands []command

// register adds a command to the root; each command file calls it in init.
func register(c command) { commands = append(commands, c) }

func versionString() string {
	v := version
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if rev != "" && !strings.Contains(v, rev) {
		v += " (" + rev + ")"
	}
	return v
}

func newRoot(g *globalOptions) *cobra.Command { return newRootFor(g, "") }

// newRootFor is newRoot with only the command called name, when there is
// one: building every command (flags, help, completions) is most of
// cobra's share of start-up, and running one needs no other. Any other
// name ("", a flag, help, completion, a typo) gets them all, for help,
// suggestions and completion.
func newRootFor(g *globalOptions, name string) *cobra.Command {
	root := &cobra.Command{
		Use:   "packgen",
		Short: "Build and fetch signed Kubernetes pack registries from git",
		Long: `packgen turns a git repository of Kubernetes packs (os, k8s, cni, csi and
add-on layers, Spectro Cloud Palette style) into a static, signed registry
that any object store or CDN can serve, and is also the client that
resolves, downloads, verifies and safely extracts packs from it.

Exit codes:
  0  success
  1  what was checked is bad (validation errors, failed verification)
  2  usage error (unknown flag, wrong arguments)
  3  operational failure (I/O, network, git)
  130, 143  interrupted by SIGINT or SIGTERM (temporary files removed;
            serve exits 0 when stopped by a signal)`,
		Example: `  packgen validate examples/packs
  packgen build --out site
  packgen serve site
  packgen fetch calico@^3.26 --url http://127.0.0.1:8080 --key registry.pub`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(g.stdin)
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print only warnings, errors and what the command exists to print (a list, problems): no summaries, no progress, no tables of what was written")
	root.PersistentFlags().StringVar(&g.config, "config", "", "registries config file (default $XDG_CONFIG_HOME/packgen/registries.yaml)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	var cmds []*cobra.Command
	for _, c := range commands {
		cmd := c(g)
		if name != "" && (cmd.Name() == name || cmd.HasAlias(name)) {
			cmds = []*cobra.Command{cmd}
			break
		}
		cmds = append(cmds, cmd)
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	return root
}

// execute runs packgen with args and returns the exit code.
func execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr}
	name := ""
	if len(args) > 0 {
		name = args[0]
	}
	root := newRootFor(g, name)
	root.SetArgs(args)
	ctx, interrupted, stop := onSignal(stderr)
	defer stop()
	out := &wroteWriter{w: stdout}
	g.stdout = out
	// cobra's completion command prints its help for an unknown shell
	// (completion tcsh) and exits 0, as our groups did: a usage error.
	root.InitDefaultCompletionCmd(args...)
	for _, c := range root.Commands() {
		if c.Name() == "completion" && c.Run == nil && c.RunE == nil {
			c.Args = cobra.NoArgs
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	code := exitFailure
	if errors.As(err, &ee) {
		code = ee.code
	} else if isUsage(err) || errors.Is(err, sign.ErrKeyPassword) || errors.Is(err, source.ErrNotRepo) || errors.Is(err, client.ErrConfig) {
		// A key's password missing or wrong is the user's to set, in
		// every command and whenever the key is decrypted (build's is
		// lazy: mid-build); so is a --repo (or working directory) in no
		// git repository, in every command that reads one, and a
		// registries config that does not parse (--config, or the
		// user's own).
		code = exitUsage
	}
	if sig := interrupted(); sig != nil {
		// Whatever the command made of its cancelled context, the exit
		// says it was interrupted: 128 + the signal, as shells do.
		code = signalExit(sig)
		err = fmt.Errorf("interrupted by %s (temporary files removed): %w", sigName(sig), err)
	}
	if code == exitBad && !out.wrote && ranWithJSON(cmd) {
		failureJSON(stdout, err, ee)
	}
	// Errors quote outside text (a server's status line, a pack's
	// fields, file names): escaped, it cannot rewrite the terminal.
	if msg := textsafe.EscapeLines(err.Error()); msg != "" {
		fmt.Fprintf(stderr, "packgen: %s\n", msg)
		if code == exitUsage && (ee == nil || !ee.refusal) && !errors.Is(err, client.ErrConfig) {
			// The help of the command that was misused, not the root's;
			// a registries config that does not parse is no misuse (its
			// error names the file, the line and what to do).
			path := "packgen"
			if cmd != nil {
				path = cmd.CommandPath()
			}
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
		}
		if hint := limitHint(cmd, err); hint != "" {
			fmt.Fprintf(stderr, "packgen: %s\n", hint)
		}
	}
	return code
}

// wroteWriter notes whether anything was written through it.
type wroteWriter struct {
	w     io.Writer
	wrote bool
}

func (w *wroteWriter) Write(p []byte) (int, error) {
	w.wrote = w.wrote || len(p) > 0
	return w.w.Write(p)
}

// ranWithJSON says cmd ran with -o json.
func ranWithJSON(cmd *cobra.Command) bool {
	if cmd == nil {
		return false
	}
	f := cmd.Flags().Lookup("output")
	return f != nil && f.Value.String() == "json"
}

// failureJSON is the report of a check that failed with no report of its
// own (a build refusing invalid packs, a publish refusing a rollback, a
// release that does not exist): docs/JSON.md promises a script JSON on
// exit 1. problems are those the error carries, if any.
func failureJSON(stdout io.Writer, err error, ee *exitError) {
	problems := meta.Problems{}
	if ee != nil && ee.problems != nil {
		problems = ee.problems
	}
	warnings := meta.Problems{}
	for _, p := range problems {
		if p.Severity != meta.SevError {
			warnings = append(warnings, p)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"error": err.Error(), "problems": problems, "warnings": warnings})
}

// Exit codes of a command stopped by a signal (128 + its number).
const (
	exitSIGINT  = 130
	exitSIGTERM = 143
)

// signalGrace is how long a command has to return once its context is
// cancelled by a signal, removing its temporary files on the way. One
// stuck where no context reaches is then ended regardless.
var signalGrace = 10 * time.Second

// onSignal returns a context cancelled by SIGINT or SIGTERM, a function
// reporting which signal (nil: none), and stop. After the first signal
// the default action is restored, so a second one ends the process at
// once.
func onSignal(stderr io.Writer) (context.Context, func() os.Signal, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var mu sync.Mutex
	var got os.Signal
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			mu.Lock()
			got = sig
			mu.Unlock()
			cancel(fmt.Errorf("%s", sigName(sig)))
			if standalone {
				// Chart renderers take no context: end them now.
				images.AbortRenderer()
				t := time.AfterFunc(signalGrace, func() {
					fmt.Fprintf(stderr, "packgen: interrupted by %s; still busy after %s, exiting\n", sigName(sig), signalGrace)
					os.Exit(signalExit(sig))
				})
				<-done
				t.Stop()
			}
		case <-done:
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel(nil)
		})
	}
	return ctx, func() os.Signal { mu.Lock(); defer mu.Unlock(); return got }, stop
}

func signalExit(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

func sigName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// isUsage recognises cobra's argument errors, which it does not type.
func isUsage(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand", "invalid argument"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// flagAlias makes alias another name for c's flag name: --dest for the
// -d flag of every command (build --out, new --dir), --format for
// -o/--output. Aliases chain through the flag set's normalize function.
func flagAlias(c *cobra.Command, alias, name string) {
	fs := c.Flags()
	prev := fs.GetNormalizeFunc()
	fs.SetNormalizeFunc(func(f *pflag.FlagSet, n string) pflag.NormalizedName {
		if n == alias {
			return pflag.NormalizedName(name)
		}
		return prev(f, n)
	})
}

// destAlias makes --dest another name for c's -d flag, called long: -d
// is always the directory a command writes into (build --out, new --dir,
// fetch and profile --dest), and --dest names it in every command.
func destAlias(c *cobra.Command, long string) { flagAlias(c, "dest", long) }

// group makes c the command group of subs. Every group is run the same
// way: alone it prints its help; with an argument that names none of
// its commands it is a usage error (exit 2, as in every command), not
// its help and exit 0, so a script's mistyped `packgen log aduit` fails.
func group(c *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	if c.Args != nil || c.RunE != nil {
		panic("group: " + c.Name() + " runs itself")
	}
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	c.AddCommand(subs...)
	return c
}

// outputFlag adds -o/--output with the given formats, checked once the
// flags are parsed and before the command runs (a usage error), so no
// command checks it itself and none can forget to. It is the command's
// PreRunE: no command sets its own.
func outputFlag(c *cobra.Command, p *string, formats ...string) {
	c.Flags().StringVarP(p, "output", "o", formats[0], "output format: "+strings.Join(formats, ", ")+" (--format also works)")
	flagAlias(c, "format", "output")
	_ = c.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
	if c.PreRunE != nil {
		panic("outputFlag: " + c.Name() + " has a PreRunE already")
	}
	c.PreRunE = func(*cobra.Command, []string) error { return checkOutput(*p, formats...) }
}

func checkOutput(v string, formats ...string) error {
	for _, f := range formats {
		if v == f {
			return nil
		}
	}
	return usageErr("unknown output format %q (want %s)", v, strings.Join(formats, " or "))
}
