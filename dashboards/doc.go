// Package dashboards owns the Grafana side of Journeys: the dashboard JSON
// (cx-overview.json, friction.json, journeys.json, customer.json and engagement.json for CX
// teams on ClickHouse, pipeline-health.json for operators on Prometheus),
// the Grafana provisioning of the data sources,
// dashboards and ClickHouse alert rules (provisioning/), the Prometheus
// alert rules and their promtool tests (alerts/), and the Go that loads,
// checks and runs their queries. Package dashboards/grafana applies it all
// to a running Grafana.
//
// The dashboards use the official ClickHouse plugin
// (grafana-clickhouse-datasource) in raw SQL mode. Expand reproduces the
// plugin's macro expansion ($__timeFilter, $__fromTime, $__toTime,
// $__interval_s, …) so that tests can run every panel's SQL against a real
// ClickHouse, and Query.Expand first fills in the dashboard's template
// variables at their saved defaults (or at values set with Query.With, as a
// var-<name> in a dashboard link does), as Grafana does before the plugin
// sees the query. VariableQueries lists the SQL of query variables, which
// runs the same way.
//
// Multi-value variables with All use a custom all value '__all' and the
// filter ('__all' IN (${v:singlequote}) OR col IN (${v:singlequote})), so
// All means no filter whatever the options; the plugin's $__conditionalAll
// would do the same but needs a recent plugin and is not used.
//
// All SQL must run on ClickHouse 18.16 and on the current LTS. 18.16 lacks
// toStartOfInterval, so the plugin's $__timeInterval is refused here and
// panels bucket time with intDiv(toUInt32(col), $__interval_s) *
// $__interval_s instead.
package dashboards
