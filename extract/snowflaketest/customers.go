package snowflaketest

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// CustomersEpoch is UPDATED_AT of customer 1; customer i is i seconds later.
var CustomersEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var plans = []string{"free", "starter", "pro", "enterprise"}

// Customers is a generated CUSTOMERS table of n rows, built chunk by chunk
// on demand (no memory held): ID NUMBER(38,0) 1..n, EMAIL, NAME, PLAN,
// BALANCE NUMBER(12,2), ACTIVE BOOLEAN, UPDATED_AT TIMESTAMP_NTZ(9).
// Every value is a function of the row number, so tests can check them.
func Customers(n int) *Table {
	cols := []Column{
		{Name: "ID", Type: Fixed, Precision: 38},
		{Name: "EMAIL", Type: Text, Nullable: true},
		{Name: "NAME", Type: Text, Nullable: true},
		{Name: "PLAN", Type: Text, Nullable: true},
		{Name: "BALANCE", Type: Fixed, Precision: 12, Scale: 2, Nullable: true},
		{Name: "ACTIVE", Type: Boolean, Nullable: true},
		{Name: "UPDATED_AT", Type: TimestampNTZ, Scale: 9, Nullable: true},
	}
	fields := []arrow.Field{
		{Name: "ID", Type: arrow.PrimitiveTypes.Int64},
		{Name: "EMAIL", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "NAME", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "PLAN", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "BALANCE", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "ACTIVE", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "UPDATED_AT", Type: arrow.FixedWidthTypes.Timestamp_ns, Nullable: true},
	}
	schema := arrow.NewSchema(fields, nil)
	return &Table{
		Name:    "CUSTOMERS",
		Columns: cols,
		Rows:    n,
		Slice: func(mem memory.Allocator, off, count int) arrow.RecordBatch {
			b := array.NewRecordBuilder(mem, schema)
			defer b.Release()
			for i := off; i < off+count; i++ {
				id := int64(i + 1)
				c := CustomerAt(id)
				b.Field(0).(*array.Int64Builder).Append(id)
				b.Field(1).(*array.StringBuilder).Append(c.Email)
				b.Field(2).(*array.StringBuilder).Append(c.Name)
				b.Field(3).(*array.StringBuilder).Append(c.Plan)
				b.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(c.BalanceCents))
				b.Field(5).(*array.BooleanBuilder).Append(c.Active)
				b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(c.UpdatedAt.UnixNano()))
			}
			return b.NewRecordBatch()
		},
	}
}

// Customer is one generated customer row.
type Customer struct {
	Email, Name, Plan string
	BalanceCents      int64
	Active            bool
	UpdatedAt         time.Time
}

// CustomerAt returns the values of customer id.
func CustomerAt(id int64) Customer {
	return Customer{
		Email:        fmt.Sprintf("customer%d@example.com", id),
		Name:         fmt.Sprintf("Customer %d", id),
		Plan:         plans[id%int64(len(plans))],
		BalanceCents: (id * 7919) % 10_000_000,
		Active:       id%3 != 0,
		UpdatedAt:    CustomersEpoch.Add(time.Duration(id) * time.Second),
	}
}
