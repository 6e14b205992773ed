// Package modernch proves Journeys' SQL on a modern ClickHouse: chDB's
// embedded ClickHouse 26.5 (libchdb.so from the npm registry, installed by
// scripts/chdb.sh and named by $CHDB_LIB_PATH), beside Debian's 18.16 where
// every other test runs. It owns the chDB session and the comparison of a
// query's results between the two versions; its tests apply every migration
// and run every dashboard, alert, store and report query on both.
package modernch
