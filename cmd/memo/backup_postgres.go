package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/memo-fediverse/memo/storage"
)

// PostgreSQL is saved and restored by its own client tools, pg_dump and psql.

func pgDump(ctx context.Context, dsn, snapshot, out string) error {
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		return err
	}
	conn, schema, err := storage.PostgresTarget(dsn)
	if err != nil {
		return err
	}
	args := []string{"--no-owner", "--no-privileges", "--snapshot", snapshot, "--file", out, "--dbname", conn}
	if schema != "" {
		args = append(args, "--schema", schema)
	}
	var errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump: %v: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	return nil
}

func psqlRestore(ctx context.Context, dsn string, dump io.Reader) error {
	bin, err := exec.LookPath("psql")
	if err != nil {
		return errors.New("psql is not installed: install PostgreSQL's client to restore a dump")
	}
	conn, _, err := storage.PostgresTarget(dsn)
	if err != nil {
		return err
	}
	var errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1", "--dbname", conn)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = dump, io.Discard, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("psql: %v: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	return nil
}
