package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/fdxd/fdxd/internal/oauth"
	"github.com/fdxd/fdxd/internal/password"
	"github.com/fdxd/fdxd/internal/secret"
	"github.com/fdxd/fdxd/internal/store"
)

// passwordFlag is --password-stdin of the commands that set a password:
// users add|set-password and admins add|set-password.
type passwordFlag struct{ fromStdin bool }

func (p *passwordFlag) register(fs *flag.FlagSet) {
	fs.BoolVar(&p.fromStdin, "password-stdin", false, "read the password from standard input instead of generating one")
}

// newPassword is a password about to be set.
type newPassword struct {
	value     string
	generated bool
}

// read reads the password from standard input, or generates one.
func (p passwordFlag) read(env Env) (newPassword, error) {
	if !p.fromStdin {
		return newPassword{value: secret.Token("", 16), generated: true}, nil
	}
	pw, err := readSecretLine(env.Stdin)
	if err != nil {
		return newPassword{}, err
	}
	if len(pw) < password.MinLength {
		return newPassword{}, usagef("a password must be at least %d characters", password.MinLength)
	}
	if len(pw) > oauth.MaxPasswordBytes {
		return newPassword{}, usagef("a password must be at most %d bytes: the sign-in page accepts no longer one", oauth.MaxPasswordBytes)
	}
	return newPassword{value: pw}, nil
}

// hash is what is stored: the argon2id hash, never the password.
func (p newPassword) hash() string { return password.Hash(p.value, password.Default) }

// printGenerated prints a generated password, the only time it is shown; a
// password from standard input is never printed.
func (p newPassword) printGenerated(w io.Writer) {
	if p.generated {
		fmt.Fprintf(w, "password  %s\n          shown once: only its argon2id hash is stored\n", p.value)
	}
}

// setPassword is `fdxd users|admins set-password NAME [--password-stdin]`:
// what names the argument in usage errors, update stores the new hash for
// NAME (or reports that there is none), and done, a format of NAME, is
// printed when it has.
func setPassword(ctx context.Context, env Env, args []string, command, what, done string,
	update func(ctx context.Context, st store.Store, name, hash string, now time.Time) error) error {
	fs := newFlagSet(env, command)
	var (
		db dbFlags
		pf passwordFlag
	)
	db.register(fs)
	pf.register(fs)
	name, err := oneArg(fs, env, args, what)
	if err != nil {
		return err
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
	if err := update(ctx, st, name, pw.hash(), time.Now().UTC()); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, done, name)
	pw.printGenerated(env.Stdout)
	return nil
}
