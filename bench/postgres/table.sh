# bench_src: the 10-column table bench-postgres and compare.sh time,
# generated server-side. Call with the row count after defining psqlq.
# jsonb has no equality operator for EXCEPT: keep attrs as jsonb but the
# check compares rows, which works since jsonb does have one (json not).
gen_bench_src() {
  psqlq -c "DROP TABLE IF EXISTS bench_src" -c "CREATE TABLE bench_src (
      id bigint PRIMARY KEY, email text, name text, country text, age int,
      balance numeric(12,2), active bool, updated_at timestamptz, attrs jsonb, note text)" \
    -c "INSERT INTO bench_src SELECT g, 'user' || g || '@example.com', 'Name ' || md5(g::text),
      (ARRAY['US','DE','FR','JP','BR','IN'])[1 + g % 6], 18 + g % 70, round((g % 100000) * 1.37, 2),
      g % 3 = 0, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 second',
      jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + g % 3], 'score', g % 1000),
      substr(md5(g::text) || md5((g + 1)::text), 1, 50)
      FROM generate_series(1, $1) g" \
    -c "CREATE INDEX ON bench_src (updated_at)" -c "VACUUM ANALYZE bench_src"
}
