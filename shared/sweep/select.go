package sweep

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// ref is a reference field: ClearML answers an id string, or an object with
// id (and name, when only_fields asks for it).
type ref struct {
	ID   string
	Name string
}

func (r *ref) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		r.ID = s
		return nil
	}
	var o struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return nil // an unexpected shape reads as absent, and the re-checks refuse what they need
	}
	r.ID, r.Name = o.ID, o.Name
	return nil
}

// stamp is a ClearML date ("2026-01-02T03:04:05.678000+00:00", sometimes
// without a zone, which is UTC); unparseable reads as absent.
type stamp struct{ time.Time }

func (s *stamp) UnmarshalJSON(b []byte) error {
	var v string
	if json.Unmarshal(b, &v) != nil || v == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			s.Time = t.UTC()
			return nil
		}
	}
	return nil
}

// task is a tasks.get_all_ex document, in the fields the sweeper reads.
type task struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Status        string   `json:"status"`
	SystemTags    []string `json:"system_tags"`
	Company       ref      `json:"company"`
	User          ref      `json:"user"`
	Project       *ref     `json:"project"`
	StatusChanged stamp    `json:"status_changed"`
	LastChange    stamp    `json:"last_change"`
	Started       stamp    `json:"started"`
	Execution     struct {
		Artifacts []struct {
			Key  string `json:"key"`
			URI  string `json:"uri"`
			Mode string `json:"mode"`
		} `json:"artifacts"`
	} `json:"execution"`
	Models struct {
		Input []struct {
			Model string `json:"model"`
		} `json:"input"`
	} `json:"models"`
}

func (t *task) archived() bool { return slices.Contains(t.SystemTags, "archived") }

func (t *task) projectName() string {
	if t.Project == nil {
		return ""
	}
	if t.Project.Name != "" {
		return t.Project.Name
	}
	return t.Project.ID
}

var taskFields = []string{
	"id", "name", "status", "system_tags", "company", "user", "project", "status_changed", "last_change",
	"started", "execution.artifacts",
}

// pageSize is what every listing asks for: the server's cap.
const pageSize = 500

// Skip reasons of the local re-check (the server ignores a filter it cannot
// parse, so every returned task is checked again here).
const (
	skipPublic          = "public"
	skipNotArchived     = "not_archived"
	skipNoDate          = "no_date"
	skipRecent          = "recent"
	skipRunning         = "running"
	skipPublished       = "published"
	skipPublishedModels = "published_models"
	skipNotInProjects   = "not_in_projects"
	skipExcluded        = "excluded_project"
)

// projectSets are the ids of sweep.projects and sweep.exclude_projects,
// subprojects included; nil means no such filter.
type projectSets struct {
	include, exclude map[string]bool
}

// resolveProjects turns names or ids into project ids, subprojects
// included (a project's subprojects are those whose full name continues
// with "/").
func (s *Sweeper) resolveProjects(ctx context.Context) (projectSets, error) {
	var ps projectSets
	if len(s.cfg.Projects)+len(s.cfg.ExcludeProjects) == 0 {
		return ps, nil
	}
	type project struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var all []project
	for page := 0; ; page++ {
		var out struct {
			Projects []project `json:"projects"`
		}
		if err := s.api.Call(ctx, "projects.get_all_ex", map[string]any{
			"only_fields": []string{"id", "name"}, "search_hidden": true, "page": page, "page_size": pageSize,
		}, &out); err != nil {
			return ps, err
		}
		all = append(all, out.Projects...)
		if len(out.Projects) < pageSize {
			break
		}
	}
	resolve := func(entries []string) map[string]bool {
		set := map[string]bool{}
		var names []string
		for _, e := range entries {
			set[e] = true // an id, or a name that matches nothing
			names = append(names, e)
			for _, p := range all {
				if p.ID == e {
					names = append(names, p.Name)
				}
			}
		}
		for _, p := range all {
			for _, n := range names {
				if p.Name == n || strings.HasPrefix(p.Name, n+"/") {
					set[p.ID] = true
				}
			}
		}
		return set
	}
	if len(s.cfg.Projects) > 0 {
		ps.include = resolve(s.cfg.Projects)
	}
	if len(s.cfg.ExcludeProjects) > 0 {
		ps.exclude = resolve(s.cfg.ExcludeProjects)
	}
	return ps, nil
}

// selection is the outcome of the select step.
type selection struct {
	listed   int
	eligible []*task
	skipped  []taskResult
	// more: max_tasks stopped the collection; the next run continues.
	more bool
}

// selectTasks scrolls tasks.get_all_ex to the end (or until max_tasks
// eligible tasks are in hand) before anything is deleted: scrolling is by
// offset, so deleting while scrolling would skip tasks. Each returned task
// is checked again locally.
func (s *Sweeper) selectTasks(ctx context.Context, cutoff time.Time, ps projectSets) (selection, error) {
	var sel selection
	base := map[string]any{
		"only_fields":    taskFields,
		"order_by":       []string{"id"},
		"search_hidden":  true,
		"allow_public":   false,
		"status_changed": []string{"<" + cutoff.UTC().Format("2006-01-02T15:04:05")},
		"size":           pageSize,
	}
	if s.cfg.IsArchivedOnly() {
		base["system_tags"] = []string{"archived"}
	}
	if ps.include != nil {
		ids := make([]string, 0, len(ps.include))
		for id := range ps.include {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		base["project"] = ids
		base["include_subprojects"] = true
	}
	q := maps.Clone(base)
	q["scroll_id"] = nil
	seen := map[string]bool{}
	limit := s.cfg.TaskLimit()
	for {
		var out struct {
			Tasks    []json.RawMessage `json:"tasks"`
			ScrollID string            `json:"scroll_id"`
		}
		if err := s.api.Call(ctx, "tasks.get_all_ex", q, &out); err != nil {
			return sel, err
		}
		fresh := 0
		for _, raw := range out.Tasks {
			var t task
			if err := json.Unmarshal(raw, &t); err != nil || t.ID == "" || seen[t.ID] {
				continue
			}
			seen[t.ID] = true
			fresh++
			sel.listed++
			if reason := s.recheck(&t, cutoff, ps); reason != "" {
				sel.skipped = append(sel.skipped, taskResult{ID: t.ID, Name: t.Name, Project: t.projectName(), Outcome: outcomeSkipped, Reason: reason})
				continue
			}
			if len(sel.eligible) == limit {
				sel.more = true
				return sel, nil
			}
			sel.eligible = append(sel.eligible, &t)
		}
		// An expired scroll silently restarts from the beginning under a
		// new id: a page of tasks already seen ends the listing too.
		if len(out.Tasks) < pageSize || fresh == 0 || out.ScrollID == "" {
			return sel, nil
		}
		// The filters go with every page: the server reads them again.
		q = maps.Clone(base)
		q["scroll_id"] = out.ScrollID
	}
}

// recheck applies the policy to a returned task; "" means eligible.
func (s *Sweeper) recheck(t *task, cutoff time.Time, ps projectSets) string {
	switch {
	case t.Company.ID == "":
		return skipPublic
	case s.cfg.IsArchivedOnly() && !t.archived():
		return skipNotArchived
	case t.StatusChanged.IsZero():
		return skipNoDate
	case !t.StatusChanged.Before(cutoff), !t.LastChange.IsZero() && !t.LastChange.Before(cutoff):
		return skipRecent
	case t.Status == "in_progress" || t.Status == "queued":
		return skipRunning
	case t.Status == "published" && !s.cfg.IncludePublished:
		return skipPublished
	}
	pid := ""
	if t.Project != nil {
		pid = t.Project.ID
	}
	if ps.include != nil && !ps.include[pid] {
		return skipNotInProjects
	}
	if ps.exclude != nil && ps.exclude[pid] {
		return skipExcluded
	}
	return ""
}
