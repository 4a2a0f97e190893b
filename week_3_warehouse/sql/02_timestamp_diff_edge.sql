-- One second apart, across a minute boundary: BigQuery says 0 whole minutes, the emulator (DuckDB) 1 boundary.
SELECT
  TIMESTAMP_DIFF(TIMESTAMP '2021-01-01 00:01:00', TIMESTAMP '2021-01-01 00:00:59', MINUTE) AS minutes,
  TIMESTAMP_DIFF(TIMESTAMP '2021-01-01 00:01:00', TIMESTAMP '2021-01-01 00:00:59', SECOND) AS seconds
