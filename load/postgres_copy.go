package load

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/pgwire"
)

// copySignature opens every binary COPY stream: signature, flags, header
// extension length.
var copySignature = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyPayload builds a binary COPY stream of the given rows of rec (all rows
// when rows is nil). A row whose value cannot be encoded (an invalid uuid,
// an integer out of range) is left out and reported in bad; the rest load.
// With ord, each row ends with one more field, its row number in rec as an
// int4, so a statement over the staged rows can name them.
func copyPayload(buf []byte, rec arrow.RecordBatch, encs []pgwire.Encoder, rows []int, ord bool) (out []byte, bad []RowError, sent []int) {
	buf = append(buf[:0], copySignature...)
	ncols := int(rec.NumCols())
	fields := uint16(ncols)
	if ord {
		fields++
	}
	fns := make([]pgwire.AppendFunc, ncols)
	cols := make([]arrow.Array, ncols)
	for c := 0; c < ncols; c++ {
		cols[c] = rec.Column(c)
		fns[c] = encs[c](cols[c])
	}
	n := int(rec.NumRows())
	if rows == nil {
		sent = make([]int, 0, n)
	}
	one := func(i int) {
		start := len(buf)
		buf = binary.BigEndian.AppendUint16(buf, fields)
		for c := 0; c < ncols; c++ {
			if cols[c].IsNull(i) {
				buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: NULL
				continue
			}
			at := len(buf)
			buf = append(buf, 0, 0, 0, 0)
			var err error
			if buf, err = fns[c](buf, i); err != nil {
				buf = buf[:start]
				bad = append(bad, RowError{Row: i, Msg: fmt.Sprintf("column %q: %v", rec.ColumnName(c), err)})
				return
			}
			binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
		}
		if ord {
			buf = binary.BigEndian.AppendUint32(buf, 4)
			buf = binary.BigEndian.AppendUint32(buf, uint32(i))
		}
		sent = append(sent, i)
	}
	if rows == nil {
		for i := 0; i < n; i++ {
			one(i)
		}
	} else {
		for _, i := range rows {
			one(i)
		}
	}
	buf = binary.BigEndian.AppendUint16(buf, math.MaxUint16) // -1: trailer
	return buf, bad, sent
}

// copyIn streams a prepared binary COPY payload over tx's connection.
func copyIn(ctx context.Context, tx pgx.Tx, sql string, payload []byte) error {
	_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(payload), sql)
	return err
}
