// The differential oracle of tests/it/csr_differential.rs: Go's own reading of a CSR's
// spec.request. Standard library only (no require lines: builds offline).
module joinkit.test/csrparse

// The go line also sets the GODEBUG defaults (Go's internal/godebugs/table.go). Of the settings
// changed since 1.22, only urlstrictcolons (net/url, 1.26) is on this path: colons in a URI SAN's
// host, which joinkit does not accept either way.
go 1.22
