package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"time"

	"modernc.org/sqlite"
)

// SQLite connections are wrapped for two costs measured under load (cmd/memo-load --perf); PostgreSQL needs
// neither, since pgx caches prepared statements and the server queues writers itself.
//
//   - Statements. The driver prepares every query anew: parsing and planning SQL cost more of the server's
//     CPU under inbox load than storing the rows. A connection here keeps each statement it has prepared and runs
//     it again with new arguments.
//   - Writers. SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps 1, 2, 5, 10,
//     then up to 100 ms between tries however soon the lock is free. Under 64 concurrent requests that sleeping,
//     not the writing, set the inbox's p99. The writers of this process now queue on a gate in Go and enter the
//     moment the previous one leaves; the busy handler is left to waits on other processes (memo publish).

// maxCachedStmts bounds the statements one connection keeps. Queries are constants, bar a few whose IN list
// varies in length; past the bound, new ones are prepared and dropped as before.
const maxCachedStmts = 256

type sqliteConnector struct {
	driver.Connector
	gate writeGate // shared by every connection of one database handle
}

func newSQLiteConnector(dsn string) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", dsn, err)
	}
	return sqliteConnector{Connector: c, gate: make(writeGate, 1)}, nil
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	_, q := conn.(driver.QueryerContext)
	_, e := conn.(driver.ExecerContext)
	_, b := conn.(driver.ConnBeginTx)
	_, p := conn.(driver.ConnPrepareContext)
	if !q || !e || !b || !p {
		conn.Close()
		return nil, errors.New("sqlite driver connection lacks a context interface")
	}
	return &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}, gate: c.gate}, nil
}

// gateWait is how long a writer waits for the others of this process, as busy_timeout does for other processes.
const gateWait = 10 * time.Second

// writeGate lets one writer of the process at a time into SQLite.
type writeGate chan struct{}

func (g writeGate) enter(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("database is locked: waited %s for another write of this process", gateWait)
	}
}

func (g writeGate) leave() { <-g }

var (
	quoted     = regexp.MustCompile(`'(?:[^']|'')*'`)
	writeStart = regexp.MustCompile(`(?i)^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b`)
	withWrite  = regexp.MustCompile(`(?is)^\s*WITH\b.*\b(INSERT|UPDATE|DELETE|REPLACE)\b`)
)

// writes tells whether a statement may write: it starts with a writing verb, or is a WITH … UPDATE. String
// literals are left out, so `type = 'Update'` is a read. A read taken for a write only waits its turn needlessly;
// a write taken for a read falls back to SQLite's busy handler: neither is wrong.
func writes(query string) bool {
	q := quoted.ReplaceAllString(query, "''")
	return writeStart.MatchString(q) || withWrite.MatchString(q)
}

// cachingConn is used by one goroutine at a time (database/sql guarantees it), so its fields need no lock.
type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
	gate  writeGate
	inTx  bool // a transaction holds the gate for every statement in it
}

// cachedStmt is busy while rows read from it are open: a second query with the same text on the same
// connection (a nested loop in one transaction) then gets a statement of its own rather than resetting this one.
type cachedStmt struct {
	stmt   driver.Stmt
	busy   bool
	writes bool
}

// take returns the cached statement for query, preparing it on first use, or nil when it is busy or the cache is
// full, in which case the caller runs the query uncached.
func (c *cachingConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{stmt: st, writes: writes(query)}
	c.stmts[query] = cs
	return cs, nil
}

// QueryContext runs a query; one that writes (UPDATE … RETURNING) holds the gate until its rows are closed, when
// the driver finishes the statement and SQLite commits it.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	gated := !c.inTx && (cs == nil && writes(query) || cs != nil && cs.writes)
	if gated {
		if err := c.gate.enter(ctx); err != nil {
			return nil, err
		}
	}
	var rows driver.Rows
	if cs == nil {
		rows, err = c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	} else {
		rows, err = cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	}
	if err != nil {
		if gated {
			c.gate.leave()
		}
		return nil, err
	}
	if cs != nil {
		cs.busy = true
	}
	r := &cachedRows{Rows: rows, cs: cs}
	if gated {
		r.gate = c.gate
	}
	return r, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if !c.inTx && (cs == nil && writes(query) || cs != nil && cs.writes) {
		if err := c.gate.enter(ctx); err != nil {
			return nil, err
		}
		defer c.gate.leave()
	}
	if cs == nil {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

// BeginTx enters the gate: transactions start with BEGIN IMMEDIATE (_txlock=immediate), which takes SQLite's
// write lock at once, so each one is a writer from its start to its end.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.gate.enter(ctx); err != nil {
		return nil, err
	}
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		c.gate.leave()
		return nil, err
	}
	c.inTx = true
	return &gatedTx{Tx: tx, c: c}, nil
}

type gatedTx struct {
	driver.Tx
	c *cachingConn
}

func (t *gatedTx) Commit() error   { return t.end(t.Tx.Commit()) }
func (t *gatedTx) Rollback() error { return t.end(t.Tx.Rollback()) }

func (t *gatedTx) end(err error) error {
	if t.c.inTx {
		t.c.inTx = false
		t.c.gate.leave()
	}
	return err
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *cachingConn) Close() error {
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
		delete(c.stmts, q)
	}
	errs = append(errs, c.Conn.Close())
	return errors.Join(errs...)
}

// cachedRows hands its statement back when closed (the driver resets it then, ready for the next run), and the
// gate when the query wrote.
type cachedRows struct {
	driver.Rows
	cs   *cachedStmt // nil for an uncached statement
	gate writeGate   // nil unless the query holds the gate
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.cs != nil {
		r.cs.busy = false
	}
	if r.gate != nil {
		r.gate.leave()
		r.gate = nil
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}
