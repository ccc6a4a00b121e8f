package clearmlauth

import (
	"fmt"
	"slices"

	"github.com/storagegate/storagegate/shared/config"
)

// Authorize applies clearml.allowed_roles and clearml.allowed_companies
// (company ids) to a verified caller; an empty list admits everyone. The
// lists are a handful of entries, so a linear scan per request costs less
// than keeping sets in sync with the config.
func Authorize(cfg config.ClearML, id Identity) error {
	if len(cfg.AllowedRoles) > 0 && !slices.Contains(cfg.AllowedRoles, id.Role) {
		if id.Role == "" {
			return &Error{Kind: ErrRoleNotAllowed, Reason: "ClearML did not report your role, and this service admits only some roles"}
		}
		return &Error{Kind: ErrRoleNotAllowed, Reason: fmt.Sprintf("the role %q may not use this service", id.Role)}
	}
	if len(cfg.AllowedCompanies) > 0 && !slices.Contains(cfg.AllowedCompanies, id.CompanyID) {
		return &Error{Kind: ErrCompanyNotAllowed, Reason: "your company may not use this service"}
	}
	return nil
}
