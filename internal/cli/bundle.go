package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fdxd/fdxd/internal/admin"
	"github.com/fdxd/fdxd/internal/observe"
	"github.com/fdxd/fdxd/internal/store"
)

// runBundle writes a support bundle: the request (or the state's, the
// user's, the issue's requests) with the surrounding records, masked.
func runBundle(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "bundle")
	var (
		db                dbFlags
		q                 observe.BundleQuery
		since, until, out string
	)
	db.register(fs)
	fs.StringVar(&q.RequestID, "request-id", "", "the X-Request-ID of the request the ticket is about")
	fs.StringVar(&q.State, "state", "", "the OAuth state of the attempt the ticket is about")
	fs.StringVar(&q.Subject, "user", "", "the user's sub")
	fs.StringVar(&q.IssueID, "issue", "", "an issue id from the issue center")
	fs.StringVar(&since, "since", "", "only records at or after this time (RFC 3339, e.g. 2026-11-25T15:00:00Z)")
	fs.StringVar(&until, "until", "", "only records before this time (RFC 3339)")
	fs.StringVar(&out, "o", "", "write the bundle to this file instead of standard output")
	if err := parseFlags(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments; use --request-id, --state, --user or --issue")
	}
	var errs []error
	for _, t := range []struct {
		flag string
		v    string
		dst  *time.Time
	}{{"--since", since, &q.Since}, {"--until", until, &q.Until}} {
		if t.v == "" {
			continue
		}
		v, err := admin.ParseTime(t.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.flag, err))
		}
		*t.dst = v
	}
	errs = append(errs, q.Validate())
	if err := errors.Join(errs...); err != nil {
		return UsageError{err}
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := observe.BuildBundle(ctx, st, q, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return errors.New("no request record or issue matches: records are kept for --records-max-age (default 14 days)")
	}
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(b)
	}
	if out == "" || out == "-" {
		return write(env.Stdout)
	}
	if err := writeFileAtomic(out, write); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(env.Stderr, "bundle with %d records written to %s\n", len(b.Records), out)
	return nil
}
