package mysqlconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
)

// StrictMode is the sql_mode of writer sessions: strict for every engine
// (a bad value fails its statement, also in a non-transactional table), no
// zero dates, and 0 stored as 0 in an AUTO_INCREMENT column rather than
// replaced by the next id. Setting the whole mode also drops modes that
// would change how hoist's SQL parses (ANSI_QUOTES, NO_BACKSLASH_ESCAPES).
const StrictMode = "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO"

// sessionConnector sets up every new connection of a pool before
// database/sql hands it out, so each session behaves the same however the
// pool grows or reconnects.
type sessionConnector struct {
	driver.Connector
	o Options
}

func (c *sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.init(ctx, conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set up session: %w", err)
	}
	return conn, nil
}

// init runs the session's SET statements: UTC (TIMESTAMP values read and
// written as UTC), room for every warning of a batch (the destination maps
// LOAD DATA warnings to rows), and the options' settings.
func (c *sessionConnector) init(ctx context.Context, conn driver.Conn) error {
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		return errors.New("driver connection cannot execute statements")
	}
	sets := []string{"time_zone = '+00:00'", "max_error_count = 65535"}
	if c.o.Strict {
		sets = append(sets, "sql_mode = '"+StrictMode+"'")
	}
	if c.o.Stream {
		sets = append(sets, "net_write_timeout = 86400")
	}
	if _, err := ex.ExecContext(ctx, "SET SESSION "+strings.Join(sets, ", "), nil); err != nil {
		return err
	}
	if t := c.o.StatementTimeout; t > 0 {
		// MariaDB's max_statement_time is in seconds and covers every
		// statement; MySQL has only max_execution_time, in milliseconds,
		// for SELECT.
		_, err := ex.ExecContext(ctx, fmt.Sprintf("SET SESSION max_statement_time = %g", t.Seconds()), nil)
		if Code(err) == erUnknownSystemVariable {
			_, err = ex.ExecContext(ctx, fmt.Sprintf("SET SESSION max_execution_time = %d", t.Milliseconds()), nil)
		}
		if err != nil {
			return fmt.Errorf("statement timeout: %w", err)
		}
	}
	return nil
}
