package txjoin

import "testing"

func TestTargetEqual(t *testing.T) {
	db := NewTarget("postgres", "db.internal", 5432, "crm")
	tests := []struct {
		name string
		a, b Target
		want bool
	}{
		{"same database", db, NewTarget("postgres", "db.internal", 5432, "crm"), true},
		{"other database", db, NewTarget("postgres", "db.internal", 5432, "billing"), false},
		{"other port", db, NewTarget("postgres", "db.internal", 5433, "crm"), false},
		{"other host", db, NewTarget("postgres", "replica.internal", 5432, "crm"), false},
		{"other driver", db, NewTarget("mysql", "db.internal", 5432, "crm"), false},
		{"a party that cannot join", db, Target{}, false},
		{"two parties that cannot join", Target{}, Target{}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
		if got := tt.b.Equal(tt.a); got != tt.want {
			t.Errorf("%s (swapped): Equal = %v, want %v", tt.name, got, tt.want)
		}
	}
	tx := NewTx(db, "raw")
	if !tx.Target().Equal(db) || tx.Raw() != "raw" {
		t.Errorf("Tx = %+v", tx)
	}
}
