package gcsstore

// SetListPageSize makes List's pages smaller, so that a test spans several
// without putting thousands of objects.
func SetListPageSize(s *Store, n int) { s.api.pageSize = n }

// MaxDeletes is how many deletes one Store has in flight at most.
const MaxDeletes = maxDeletes
