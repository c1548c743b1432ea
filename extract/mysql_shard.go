package extract

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// canPushShard reads the source query's column types (LIMIT 0: no rows)
// and reports whether every key column is an integer or a VARCHAR/TEXT,
// whose CAST(… AS CHAR) is what shard.AppendKeyText writes for the value
// the reader makes of it. TINYINT read as bool is not.
func (s *mysqlSource) canPushShard(ctx context.Context, req *Request, cfg MySQLSourceConfig) (bool, error) {
	base, _, _, err := mysqlSQL(&Request{Sync: req.Sync}, MySQLSourceConfig{Query: cfg.Query, Table: cfg.Table})
	if err != nil {
		return false, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT * FROM (\n"+base+"\n) AS _hoist LIMIT 0")
	if err != nil {
		return false, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return false, err
	}
	for _, c := range req.Shard.Columns {
		i := slices.IndexFunc(types, func(t *sql.ColumnType) bool { return t.Name() == c })
		if i < 0 || !mysqlShardType(types[i].DatabaseTypeName(), cfg.TinyInt1AsBool) {
			req.Log().Info("the key's column types have no matching text in SQL: rows are read whole and kept by shard after reading", "shard", req.Shard.Spec.String())
			return false, rows.Err()
		}
	}
	req.Log().Debug("shard filter pushed into the query", "shard", req.Shard.Spec.String())
	return true, rows.Err()
}

func mysqlShardType(name string, tinyBool bool) bool {
	name = strings.TrimPrefix(name, "UNSIGNED ")
	switch name {
	case "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "VARCHAR", "TEXT":
		return true
	case "TINYINT":
		return !tinyBool
	}
	return false
}
