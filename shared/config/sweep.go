package config

import (
	"fmt"
	"strings"
	"time"
)

// Sweep configures the retention sweeper (README "Retention sweeper"): which
// ClearML tasks are old enough to be deleted together with every file they
// wrote. It calls ClearML with the service credentials of the clearml
// section.
type Sweep struct {
	// OlderThan is how long a task must have been left alone (its status
	// and every change, archiving included) before it is swept. The
	// sweeper is off without it.
	OlderThan Duration `json:"older_than"`
	// ArchivedOnly limits the sweep to archived tasks (default true).
	ArchivedOnly *bool `json:"archived_only"`
	// IncludePublished also sweeps published tasks and tasks with published
	// models (default false); the published models and their files stay.
	IncludePublished bool `json:"include_published"`
	// Projects and ExcludeProjects hold project names (full paths such as
	// "Team/Experiments") or ids; subprojects are included.
	Projects        []string `json:"projects"`
	ExcludeProjects []string `json:"exclude_projects"`
	// MaxTasks bounds the tasks deleted per run (default 500).
	MaxTasks int  `json:"max_tasks"`
	DryRun   bool `json:"dry_run"`
}

// DefaultSweepMaxTasks is sweep.max_tasks unless set.
const DefaultSweepMaxTasks = 500

// Enabled reports whether sweep.older_than is set.
func (s Sweep) Enabled() bool { return s.OlderThan.D() > 0 }

// IsArchivedOnly is sweep.archived_only, true unless set.
func (s Sweep) IsArchivedOnly() bool { return s.ArchivedOnly == nil || *s.ArchivedOnly }

// TaskLimit is sweep.max_tasks, DefaultSweepMaxTasks unless set.
func (s Sweep) TaskLimit() int {
	if s.MaxTasks == 0 {
		return DefaultSweepMaxTasks
	}
	return s.MaxTasks
}

func (s Sweep) validate() error {
	if s.OlderThan.set && s.OlderThan.D() < time.Hour {
		return fieldErr("sweep.older_than", "must be at least 1h (got %s): a shorter age would sweep tasks still in use", s.OlderThan.D())
	}
	if s.MaxTasks < 0 || s.MaxTasks > 100000 {
		return fieldErr("sweep.max_tasks", "must be between 1 and 100000, or 0 for the default %d (got %d)", DefaultSweepMaxTasks, s.MaxTasks)
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"sweep.projects", s.Projects}, {"sweep.exclude_projects", s.ExcludeProjects}} {
		for i, p := range l.list {
			if strings.TrimSpace(p) == "" {
				return fieldErr(fmt.Sprintf("%s[%d]", l.field, i), "is empty: give a project name or id")
			}
		}
	}
	return nil
}
