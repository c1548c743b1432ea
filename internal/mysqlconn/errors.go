package mysqlconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Server error numbers hoist tells apart.
const (
	erUnknownSystemVariable = 1193
	erAmbiguousColumn       = 1052 // SQLSTATE 23000, but a statement's fault
	erLockWaitTimeout       = 1205
	erDeadlock              = 1213
	erTooManyConnections    = 1040
	erServerShutdown        = 1053
	erConnectionKilled      = 1927 // MariaDB
	erClientInteraction     = 4031 // MySQL: disconnected by the server for inactivity
)

// rowLevelCodes are errors one row's value can cause whose SQLSTATE is not
// of class 22 (data exception) or 23 (integrity constraint): strict mode
// turns these warnings into errors.
var rowLevelCodes = []uint16{
	1265, // data truncated (an ENUM or SET value that is not a member)
	1292, // incorrect date/time value
	1300, // invalid character string
	1364, // field has no default value
	1366, // incorrect integer/decimal/string value
	1367, // illegal value
	1411, // incorrect value for a function
	3140, // MySQL: invalid JSON text
	3819, // MySQL: check constraint violated
	4025, // MariaDB: CONSTRAINT failed (a JSON column's json_valid check)
}

// Code returns the server's error number, or 0.
func Code(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// SQLState returns the server's SQLSTATE, or "".
func SQLState(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return string(me.SQLState[:])
	}
	return ""
}

// Transient reports a failure worth retrying on a new connection: a lost
// or refused connection, a server restart, a deadlock or a lock wait
// timeout (the server rolled the transaction back). Cancellation by the
// caller's ctx is never transient.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch Code(err) {
	case erLockWaitTimeout, erDeadlock, erTooManyConnections, erServerShutdown, erConnectionKilled, erClientInteraction:
		return true
	case 0:
	default:
		return false
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "broken pipe")
}

// RowLevel reports an error one row's data can cause (a value out of range
// or too long, a NOT NULL, unique, foreign key or check violation): the
// batch is worth splitting to find the culprits.
func RowLevel(err error) bool {
	s := SQLState(err)
	if s == "" || Code(err) == erAmbiguousColumn {
		return false
	}
	return strings.HasPrefix(s, "22") || strings.HasPrefix(s, "23") || s == "21000" || slices.Contains(rowLevelCodes, Code(err))
}

// ErrMsg renders a server error for RowError.Msg: number, SQLSTATE and
// message, as the server put it.
func ErrMsg(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Error()
	}
	return err.Error()
}
