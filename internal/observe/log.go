package observe

import (
	"context"
	"io"
	"log/slog"
)

// NewLogger returns a JSON-lines logger at level: ISO-8601 UTC times with
// milliseconds, and on every line written with a request's context the
// request id and the correlation fields known so far.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
				return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(TimeFormat))
			}
			return a
		},
	})
	return slog.New(correlating{h})
}

// TimeFormat is ISO 8601 in UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// correlating adds the request's correlation fields to each record.
type correlating struct{ slog.Handler }

func (c correlating) Handle(ctx context.Context, r slog.Record) error {
	if rec := From(ctx); rec != nil {
		r = r.Clone()
		r.AddAttrs(rec.correlation()...)
	}
	return c.Handler.Handle(ctx, r)
}

func (c correlating) WithAttrs(attrs []slog.Attr) slog.Handler {
	return correlating{c.Handler.WithAttrs(attrs)}
}

func (c correlating) WithGroup(name string) slog.Handler {
	return correlating{c.Handler.WithGroup(name)}
}
