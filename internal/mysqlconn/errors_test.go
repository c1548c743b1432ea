package mysqlconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func myErr(n uint16, state string) error {
	e := &mysql.MySQLError{Number: n, Message: "m"}
	copy(e.SQLState[:], state)
	return fmt.Errorf("wrapped: %w", e)
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err                 error
		transient, rowLevel bool
	}{
		{myErr(1213, "40001"), true, false},  // deadlock
		{myErr(1205, "HY000"), true, false},  // lock wait timeout
		{myErr(1927, "70100"), true, false},  // connection killed
		{myErr(1264, "22003"), false, true},  // out of range
		{myErr(1406, "22001"), false, true},  // too long
		{myErr(1048, "23000"), false, true},  // NOT NULL
		{myErr(1062, "23000"), false, true},  // duplicate key
		{myErr(1366, "HY000"), false, true},  // incorrect value
		{myErr(4025, "23000"), false, true},  // check constraint
		{myErr(1146, "42S02"), false, false}, // no such table
		{myErr(1052, "23000"), false, false}, // ambiguous column
		{myErr(1969, "70100"), false, false}, // max_statement_time exceeded
		{driver.ErrBadConn, true, false},
		{mysql.ErrInvalidConn, true, false},
		{io.ErrUnexpectedEOF, true, false},
		{errors.Join(errors.New("x"), io.EOF), true, false},
		{context.Canceled, false, false},
		{errors.New("other"), false, false},
	}
	for _, tc := range cases {
		if Transient(tc.err) != tc.transient || RowLevel(tc.err) != tc.rowLevel {
			t.Errorf("%v: transient %v rowLevel %v, want %v %v", tc.err, Transient(tc.err), RowLevel(tc.err), tc.transient, tc.rowLevel)
		}
	}
	if got := ErrMsg(myErr(1264, "22003")); got != "Error 1264 (22003): m" {
		t.Errorf("ErrMsg = %q", got)
	}
}
