// Package cli is fdxd's command line: one flag set per subcommand, every flag
// also readable from FDXD_<FLAG>, output through the writers in Env.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env is what a command may touch of the outside world.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// UsageError marks bad input: the command prints it with usage and exits 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// ExitCodeError lets a command choose its exit status (doctor: 1 when a
// check failed) without printing anything more.
type ExitCodeError struct{ Code int }

func (e ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// command is one subcommand. Commands with subcommands of their own (clients
// add, keys rotate) dispatch inside run.
type command struct {
	name  string
	short string
	run   func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"clients", "manage OAuth clients: add|list|show|remove|rotate-secret", runClients},
		{"users", "manage users: add|list|disable|set-password", runUsers},
		{"keys", "manage signing keys: list|rotate", runKeys},
		{"maintenance", "switch maintenance mode: on|off|status", runMaintenance},
		{"version", "print the version", runVersion},
		{"data", "import or generate FDX data: import|generate", runData},
		{"doctor", "check a data provider as an aggregator would", runDoctor},
		{"admins", "manage admins of the issue center: add|list|remove|set-password", runAdmins},
		{"bundle", "write a support bundle: --request-id ID | --state S | --user SUB | --issue ID", runBundle},
	}
}

// Main runs fdxd with args (without the program name) and returns the exit
// status.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		return report(env, c.name, err)
	}
	fmt.Fprintf(env.Stderr, "fdxd: unknown command %q\n\n", args[0])
	printUsage(env.Stderr)
	return 2
}

func report(env Env, name string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if e, ok := errors.AsType[ExitCodeError](err); ok {
		return e.Code
	}
	fmt.Fprintf(env.Stderr, "fdxd %s: %v\n", name, err)
	if _, ok := errors.AsType[UsageError](err); ok {
		return 2
	}
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: fdxd <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'fdxd <command> -h' for a command's flags. Every flag can also be set as FDXD_<FLAG>.")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(env Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("fdxd "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parseFlags parses args, then fills every flag not given on the command
// line from FDXD_<FLAG> (upper case, dashes as underscores).
func parseFlags(fs *flag.FlagSet, env Env, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		name := EnvName(f.Name)
		if v := env.Getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	})
	if len(errs) > 0 {
		return UsageError{errors.Join(errs...)}
	}
	return nil
}

// EnvName is the environment variable that can set flag name.
func EnvName(flagName string) string {
	return "FDXD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
