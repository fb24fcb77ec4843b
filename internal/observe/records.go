package observe

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/fdxd/fdxd/internal/store"
)

// RecordWriterConfig configures a RecordWriter; zero fields take the
// defaults.
type RecordWriterConfig struct {
	Store  store.RecordStore
	Logger *slog.Logger
	Now    func() time.Time
	// QueueSize bounds the records waiting to be written (default 8192);
	// when it is full, records are dropped and counted.
	QueueSize int
	// BatchSize is the most records one transaction writes (default 1024).
	BatchSize int
	// FlushInterval is the longest a record waits for its batch to fill
	// (default 1 s). Fewer, larger transactions rewrite fewer pages.
	FlushInterval time.Duration
	// MaxAge and MaxCount are the retention limits (defaults 14 days and
	// 1,000,000 records; negative: no limit).
	MaxAge   time.Duration
	MaxCount int
	// RetentionInterval paces retention enforcement (default 1 minute).
	RetentionInterval time.Duration
}

// Retention defaults.
const (
	DefaultRecordMaxAge   = 14 * 24 * time.Hour
	DefaultRecordMaxCount = 1_000_000
)

// RecordWriter keeps request records: its Sink puts each finished request
// on a bounded queue without ever waiting, and Run writes the queue in
// batches and enforces retention in the background.
type RecordWriter struct {
	cfg     RecordWriterConfig
	queue   chan store.RequestRecord
	dropped atomic.Uint64
	written atomic.Uint64
	failed  atomic.Uint64
	pruned  atomic.Uint64
	// lastErrorLog throttles "could not write" lines to one a minute.
	lastErrorLog atomic.Int64
}

// NewRecordWriter returns a writer; records queue until Run starts.
func NewRecordWriter(cfg RecordWriterConfig) *RecordWriter {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 8192
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1024
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultRecordMaxAge
	}
	if cfg.MaxCount == 0 {
		cfg.MaxCount = DefaultRecordMaxCount
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = time.Minute
	}
	return &RecordWriter{cfg: cfg, queue: make(chan store.RequestRecord, cfg.QueueSize)}
}

// Sink queues a finished request's record, or drops and counts it when the
// queue is full: a request is never slowed by recording.
func (w *RecordWriter) Sink(r *Record) {
	select {
	case w.queue <- r.StoreRecord():
	default:
		w.dropped.Add(1)
	}
}

// Dropped is how many records were dropped because the queue was full.
func (w *RecordWriter) Dropped() uint64 { return w.dropped.Load() }

// Written is how many records were stored.
func (w *RecordWriter) Written() uint64 { return w.written.Load() }

// Failed is how many records were lost to a failed write.
func (w *RecordWriter) Failed() uint64 { return w.failed.Load() }

// Pruned is how many records retention deleted.
func (w *RecordWriter) Pruned() uint64 { return w.pruned.Load() }

// Queued is how many records wait to be written.
func (w *RecordWriter) Queued() int { return len(w.queue) }

// Run writes queued records until ctx ends, then writes what is still
// queued (for at most 5 seconds) and returns.
func (w *RecordWriter) Run(ctx context.Context) {
	flush := time.NewTicker(w.cfg.FlushInterval)
	defer flush.Stop()
	retention := time.NewTicker(w.cfg.RetentionInterval)
	defer retention.Stop()
	batch := make([]store.RequestRecord, 0, w.cfg.BatchSize)
	// A batch is written to the end even when ctx ends meanwhile (shutdown
	// keeps the last records), within a bound of its own.
	write := func(ctx context.Context) {
		if len(batch) > 0 {
			w.write(ctx, batch)
			batch = batch[:0]
		}
	}
	writeNow := func() {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		write(wctx)
	}
	for {
		select {
		case r := <-w.queue:
			batch = append(batch, r)
			if len(batch) >= w.cfg.BatchSize {
				writeNow()
			}
		case <-flush.C:
			writeNow()
		case <-retention.C:
			if err := w.EnforceRetention(ctx); err != nil && ctx.Err() == nil {
				w.cfg.Logger.Error("request record retention failed", "event", "records.retention_failed", "error", err.Error())
			}
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for {
				select {
				case r := <-w.queue:
					batch = append(batch, r)
					if len(batch) >= w.cfg.BatchSize {
						write(final)
					}
				default:
					write(final)
					return
				}
			}
		}
	}
}

// Flush writes everything queued now (for tests and the CLI).
func (w *RecordWriter) Flush(ctx context.Context) {
	batch := make([]store.RequestRecord, 0, w.cfg.BatchSize)
	for {
		select {
		case r := <-w.queue:
			batch = append(batch, r)
			if len(batch) >= w.cfg.BatchSize {
				w.write(ctx, batch)
				batch = batch[:0]
			}
		default:
			if len(batch) > 0 {
				w.write(ctx, batch)
			}
			return
		}
	}
}

func (w *RecordWriter) write(ctx context.Context, batch []store.RequestRecord) {
	if err := w.cfg.Store.InsertRequestRecords(ctx, batch); err != nil {
		w.failed.Add(uint64(len(batch)))
		now := w.cfg.Now().Unix()
		if last := w.lastErrorLog.Load(); now-last >= 60 && w.lastErrorLog.CompareAndSwap(last, now) {
			w.cfg.Logger.Error("could not write request records; they are lost", "event", "records.write_failed",
				"records", len(batch), "error", err.Error())
		}
		return
	}
	w.written.Add(uint64(len(batch)))
}

// EnforceRetention deletes records beyond the age and count limits, a
// bounded number of rows per transaction so requests' writes interleave.
func (w *RecordWriter) EnforceRetention(ctx context.Context) error {
	r := store.RecordRetention{Limit: 5000}
	if w.cfg.MaxAge > 0 {
		r.Before = w.cfg.Now().Add(-w.cfg.MaxAge)
	}
	if w.cfg.MaxCount > 0 {
		r.Keep = w.cfg.MaxCount
	}
	if r.Before.IsZero() && r.Keep == 0 {
		return nil
	}
	for {
		n, err := w.cfg.Store.DeleteRequestRecords(ctx, r)
		if err != nil {
			return err
		}
		w.pruned.Add(uint64(n))
		if n < int64(r.Limit) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
