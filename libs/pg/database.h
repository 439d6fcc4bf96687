// Database provisioning helpers: each service owns one database on a shared server.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::pg {

// Creates database `dbname` through `admin_url` (a connection to any database, e.g. .../postgres,
// with CREATEDB privilege) unless it exists, and returns the URL of `dbname`: the same URL with
// only the database name replaced. Safe when several processes race to create it. `dbname` must
// match [A-Za-z0-9_]{1,63}. Errors: INVALID_ARGUMENT (bad name or URL), UNAVAILABLE
// (DB_UNAVAILABLE), INTERNAL.
absl::StatusOr<std::string> EnsureDatabase(absl::string_view admin_url, absl::string_view dbname);

// Drops `dbname` if it exists, terminating its sessions (PostgreSQL 13+ WITH (FORCE)).
absl::Status DropDatabase(absl::string_view admin_url, absl::string_view dbname);

// `url` with its database name replaced by `dbname`. Accepts postgresql:// and postgres:// URLs
// (user, password, host(s), port and ?params kept) and key=value conninfo strings.
absl::StatusOr<std::string> WithDatabaseName(absl::string_view url, absl::string_view dbname);

bool IsValidDatabaseName(absl::string_view dbname);

}  // namespace dvc::pg
