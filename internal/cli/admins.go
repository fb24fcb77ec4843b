package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// runAdmins manages who may sign in to the issue center.
func runAdmins(ctx context.Context, env Env, args []string) error {
	return subcommand(ctx, env, "admins", args, map[string]func(context.Context, Env, []string) error{
		"add": adminsAdd, "list": adminsList, "remove": adminsRemove, "set-password": adminsSetPassword,
	})
}

func adminsAdd(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "admins add")
	var (
		db dbFlags
		pf passwordFlag
	)
	db.register(fs)
	pf.register(fs)
	username, err := oneArg(fs, env, args, "admin username")
	if err != nil {
		return err
	}
	if err := validateUsername(username); err != nil {
		return UsageError{err}
	}
	pw, err := pf.read(env)
	if err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	err = st.CreateAdmin(ctx, store.Admin{Username: username, PasswordHash: pw.hash(), CreatedAt: now, UpdatedAt: now})
	if errors.Is(err, store.ErrAlreadyExists) {
		return fmt.Errorf("an admin named %q already exists (fdxd admins set-password changes the password)", username)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "admin     %s\n", username)
	pw.printGenerated(env.Stdout)
	return nil
}

func adminsList(ctx context.Context, env Env, args []string) error {
	st, err := openList(ctx, env, "admins list", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	admins, err := st.ListAdmins(ctx)
	if err != nil {
		return err
	}
	tw := newTable(env.Stdout, "USERNAME\tCREATED\tPASSWORD CHANGED")
	for _, a := range admins {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Username, a.CreatedAt.Format(time.RFC3339), a.UpdatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func adminsRemove(ctx context.Context, env Env, args []string) error {
	st, username, err := openOne(ctx, env, "admins remove", "admin username", args)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.DeleteAdmin(ctx, username); err != nil {
		return notFound(err, "no admin named %q", username)
	}
	fmt.Fprintf(env.Stdout, "admin %s removed, with their sessions\n", username)
	return nil
}

func adminsSetPassword(ctx context.Context, env Env, args []string) error {
	return setPassword(ctx, env, args, "admins set-password", "admin username", "admin     %s\n",
		func(ctx context.Context, st store.Store, username, hash string, now time.Time) error {
			err := st.UpdateAdmin(ctx, username, func(a store.Admin) (store.Admin, error) {
				a.PasswordHash, a.UpdatedAt = hash, now
				return a, nil
			})
			return notFound(err, "no admin named %q", username)
		})
}
