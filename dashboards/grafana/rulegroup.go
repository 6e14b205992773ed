package grafana

import (
	"errors"
	"fmt"

	gprov "github.com/grafana/grafana-openapi-client-go/client/provisioning"
	"github.com/grafana/grafana-openapi-client-go/models"

	"github.com/journeys/journeys/dashboards"
)

// ruleGroup gives a group its evaluation interval. Grafana keeps the
// interval on the group, not on its rules: rules created one by one land
// in a group evaluated at Grafana's default interval until the group is
// told otherwise. It runs after the group's rules, so the group exists
// except in a dry run on a Grafana that has none of them yet.
func (a *applier) ruleGroup(g dashboards.AlertRuleGroup) error {
	want, err := g.IntervalSeconds()
	if err != nil {
		return fmt.Errorf("alert rule group %s: %w", g.Name, err)
	}
	got, err := a.api.Provisioning.GetAlertRuleGroup(g.Name, a.folderUID, a.withCtx)
	switch {
	case notFound(err) && a.cfg.DryRun:
		a.record("rule-group", g.Name, g.Interval, Create)
		return nil
	case notFound(err):
		return fmt.Errorf("alert rule group %s: not in folder %s after its rules were written", g.Name, a.folderUID)
	case err != nil:
		return apiErr("read alert rule group "+g.Name, err)
	}
	if got.Payload.Interval == want {
		a.record("rule-group", g.Name, g.Interval, Unchanged)
		return nil
	}
	a.record("rule-group", g.Name, g.Interval, Update)
	if a.cfg.DryRun {
		return nil
	}
	if len(got.Payload.Rules) == 0 {
		return errors.New("alert rule group " + g.Name + ": Grafana returned the group without its rules; not replacing it")
	}
	// The group is written whole: the rules go back as Grafana has them
	// (Apply wrote them just before), only the interval changes.
	body := &models.AlertRuleGroup{Title: g.Name, FolderUID: a.folderUID, Interval: want, Rules: got.Payload.Rules}
	params := gprov.NewPutAlertRuleGroupParams().WithGroup(g.Name).WithFolderUID(a.folderUID).WithBody(body)
	if _, err := a.api.Provisioning.PutAlertRuleGroup(params, a.withCtx); err != nil {
		return apiErr("update alert rule group "+g.Name, err)
	}
	return nil
}
