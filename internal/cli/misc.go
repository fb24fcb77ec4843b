package cli

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/fdxd/fdxd/internal/maintenance"
	"github.com/fdxd/fdxd/internal/store/backend"
)

func runMaintenance(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "maintenance")
	var db dbFlags
	db.register(fs)
	mode, err := oneArg(fs, env, args, "of on, off or status")
	if err != nil {
		return err
	}
	if mode != "on" && mode != "off" && mode != "status" {
		return usagef("maintenance takes on, off or status, not %q", mode)
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	sw := maintenance.New(st, nil)
	if mode != "status" {
		if err := sw.Set(ctx, mode == "on"); err != nil {
			return err
		}
	}
	on, err := sw.On(ctx)
	if err != nil {
		return err
	}
	if on {
		fmt.Fprintf(env.Stdout, "maintenance mode is on: every replica answers 503 temporarily_unavailable (Retry-After %d s) within %v\n",
			int(maintenance.RetryAfter.Seconds()), maintenance.CacheFor)
	} else {
		fmt.Fprintln(env.Stdout, "maintenance mode is off")
	}
	return nil
}

func runMigrate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "migrate")
	var db dbFlags
	db.register(fs)
	if err := noArgs(fs, env, args); err != nil {
		return err
	}
	applied, err := backend.Migrate(ctx, db.location, db.options())
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(env.Stdout, "the database is up to date: no migration to apply")
		return nil
	}
	for _, name := range applied {
		fmt.Fprintf(env.Stdout, "applied %s\n", name)
	}
	return nil
}

func runVersion(ctx context.Context, env Env, args []string) error {
	if err := noArgs(newFlagSet(env, "version"), env, args); err != nil {
		return err
	}
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	fmt.Fprintf(env.Stdout, "fdxd %s\n", version)
	return nil
}
