package grafana

import (
	"fmt"
	"maps"
	"net/url"

	"github.com/journeys/journeys/dashboards"
)

// DataSourceAddrs points the provisioned data sources, which name the
// hosts of docker-compose.yml (clickhouse:9000, prometheus:9090), at the
// servers of the Grafana being applied to. Empty fields keep the
// provisioned values.
type DataSourceAddrs struct {
	// ClickHouseHost and ClickHousePort are the native-protocol address
	// Grafana's ClickHouse plugin connects to.
	ClickHouseHost string
	ClickHousePort int
	// ClickHouseUser and ClickHousePassword log the plugin in. Grafana
	// never returns a password, so Apply cannot tell whether the one it
	// holds differs: given a password, Apply always updates the data
	// source.
	ClickHouseUser     string
	ClickHousePassword string
	// PrometheusURL is the Prometheus that scrapes ingest and process.
	PrometheusURL string
}

// Validate names the field that is wrong.
func (d DataSourceAddrs) Validate() error {
	if d.ClickHousePort < 0 || d.ClickHousePort > 65535 {
		return fmt.Errorf("clickhouse port %d: want 1-65535", d.ClickHousePort)
	}
	if d.PrometheusURL != "" {
		u, err := url.Parse(d.PrometheusURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("prometheus url %q: want http(s)://host[:port]", d.PrometheusURL)
		}
	}
	return nil
}

// apply returns s with the addresses of d; forceUpdate says the data
// source carries a secret that Apply must send even when everything it
// can compare is unchanged.
func (d DataSourceAddrs) apply(s dashboards.ProvisionedDataSource) (_ dashboards.ProvisionedDataSource, forceUpdate bool) {
	switch s.Type {
	case dashboards.ClickHouseType:
		s.JSONData = maps.Clone(s.JSONData)
		if d.ClickHouseHost != "" {
			s.JSONData["host"] = d.ClickHouseHost
		}
		if d.ClickHousePort != 0 {
			s.JSONData["port"] = d.ClickHousePort
		}
		if d.ClickHouseUser != "" {
			s.JSONData["username"] = d.ClickHouseUser
		}
		if d.ClickHousePassword != "" {
			s.SecureJSONData = maps.Clone(s.SecureJSONData)
			if s.SecureJSONData == nil {
				s.SecureJSONData = map[string]string{}
			}
			s.SecureJSONData["password"] = d.ClickHousePassword
			return s, true
		}
	case dashboards.PrometheusType:
		if d.PrometheusURL != "" {
			s.URL = d.PrometheusURL
		}
	}
	return s, false
}
