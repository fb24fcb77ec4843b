package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fdxd/fdxd/internal/fdx/dataset"
	"github.com/fdxd/fdxd/internal/fdx/gen"
	"github.com/fdxd/fdxd/internal/fdx/model"
	"github.com/fdxd/fdxd/internal/store"
)

func runData(ctx context.Context, env Env, args []string) error {
	return subcommand(ctx, env, "data", args, map[string]func(context.Context, Env, []string) error{
		"import": dataImport, "generate": dataGenerate,
	})
}

// dataImport reads an import file (see package dataset), checks all of it
// and applies it in one transaction.
func dataImport(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "data import")
	var (
		db          dbFlags
		replace     bool
		institution string
	)
	db.register(fs)
	fs.BoolVar(&replace, "replace", false, "delete the listed customers' accounts that the file does not list")
	fs.StringVar(&institution, "institution", "fdxd Demo Bank", "institution name on statements rendered for statements without a pdf")
	path, err := oneArg(fs, env, args, "FILE (or - for standard input)")
	if err != nil {
		return err
	}
	var in io.Reader = env.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	file, err := dataset.Read(in)
	if err != nil {
		return describeDataError(path, err)
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	imp, err := file.Convert(ctx, st, dataset.Options{Replace: replace, Institution: institution, Now: now})
	if err != nil {
		return describeDataError(path, err)
	}
	if err := st.ImportData(ctx, imp); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("%s: nothing imported: an account ID belongs to another user, or a statement ID is already used by another account: %w", path, err)
		}
		return fmt.Errorf("%s: nothing imported: %w", path, err)
	}
	printImported(env, imp)
	return nil
}

// dataGenerate makes a realistic data set for one user and imports it, or
// writes it as an import file with --out.
func dataGenerate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "data generate")
	var (
		db                     dbFlags
		username, out          string
		accounts, transactions int
		months                 int
		seed                   uint64
		institution            string
	)
	db.register(fs)
	fs.StringVar(&username, "user", "", "username whose data to generate (required)")
	fs.IntVar(&accounts, "accounts", gen.DefaultAccounts, fmt.Sprintf("number of accounts, %d to %d; the first four are one of each main type (deposit, credit card, loan, investment), the first nine cover every category", gen.MinAccounts, gen.MaxAccounts))
	fs.IntVar(&transactions, "transactions-per-account", gen.DefaultTransactions, "transactions of each everyday account (checking, credit card, brokerage) over the history")
	fs.IntVar(&months, "months", gen.DefaultMonths, "months of history")
	fs.Uint64Var(&seed, "seed", 1, "seed: the same seed and user give the same data")
	fs.StringVar(&out, "out", "", "write the data as an import file (- for standard output) instead of importing it")
	fs.StringVar(&institution, "institution", "fdxd Demo Bank", "institution name on statements and networks")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if username == "" {
		return usagef("--user is required")
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUserByUsername(ctx, username)
	if err != nil {
		return notFound(err, "no user %q: create it first with fdxd users add %s", username, username)
	}
	now := time.Now().UTC()
	file, err := gen.Generate(gen.Options{Username: u.Username, HolderName: u.Name, Email: u.Email, Accounts: accounts,
		TransactionsPerAccount: transactions, Months: months, Seed: seed, Now: now, Institution: institution})
	if err != nil {
		return UsageError{err}
	}
	if out != "" {
		b, err := model.Marshal(file)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if out == "-" {
			_, err = env.Stdout.Write(b)
			return err
		}
		if err := os.WriteFile(out, b, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %s (%d bytes); import it with: fdxd data import %s\n", out, len(b), out)
		return nil
	}
	imp, err := file.Convert(ctx, st, dataset.Options{Replace: true, Institution: institution, Now: now})
	if err != nil {
		return err
	}
	if err := st.ImportData(ctx, imp); err != nil {
		return fmt.Errorf("nothing imported: %w", err)
	}
	printImported(env, imp)
	return nil
}

func describeDataError(path string, err error) error {
	if ve, ok := errors.AsType[*model.ValidationError](err); ok {
		msg := fmt.Sprintf("%s: nothing imported, %d problem(s):", path, len(ve.Problems))
		for _, p := range ve.Problems {
			msg += "\n  " + p.String()
		}
		return errors.New(msg)
	}
	return fmt.Errorf("%s: nothing imported: %w", path, err)
}

func printImported(env Env, imp store.DataImport) {
	var txns, stmts int
	for _, a := range imp.Accounts {
		txns += len(a.Transactions)
		stmts += len(a.Statements)
	}
	fmt.Fprintf(env.Stdout, "imported %d accounts, %d transactions, %d statements\n", len(imp.Accounts), txns, stmts)
	for _, a := range imp.Accounts {
		fmt.Fprintf(env.Stdout, "  %-20s %-18s %-13s %s\n", a.Account.ID, a.Account.Category, a.Account.Type, a.Account.ProductName)
	}
}
