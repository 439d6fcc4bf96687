// Schema migrations embedded in the binary (cc_embed of services/<name>/migrations/*.sql).
//
// File names are `NNNN_description.sql` (the leading digits are the version). Migrate() takes a
// session advisory lock (fixed key; advisory locks are per database, and each service owns its
// database), creates `schema_migrations(version, name, checksum, applied_at)` if needed, checks
// that every applied file is unchanged (SHA-256), then applies the pending files in version
// order, each in its own transaction together with its schema_migrations row. Concurrent
// callers (replicas starting at once) wait for the lock; the first applies, the others find
// nothing to do. A file runs as one multi-statement simple query inside a transaction, so it
// must not contain BEGIN/COMMIT or statements that refuse transactions (CREATE INDEX
// CONCURRENTLY, CREATE DATABASE, VACUUM).
//
// Errors (FAILED_PRECONDITION unless noted):
//   MIGRATION_NAME_INVALID      a file name is not NNNN_description.sql
//   MIGRATION_VERSION_DUPLICATE two files share a version
//   MIGRATION_CHECKSUM_MISMATCH an applied file was edited (metadata version=, name=)
//   MIGRATION_FAILED            a file's SQL failed (INTERNAL; SQLSTATE logged; metadata version=)
//   DB_UNAVAILABLE              UNAVAILABLE, the database could not be reached
// Versions recorded in the database but absent from `files` (a newer binary ran) are accepted
// with a warning.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/pg/embedded_file.h"
#include "libs/pg/pool.h"

namespace dvc::pg {

inline constexpr int64_t kMigrationLockKey = 0x6476635f6d696772;  // "dvc_migr"

struct MigrationReport {
  std::vector<int64_t> applied;  // versions applied by this call
  int64_t current_version = 0;   // highest version recorded after the call
};

absl::Status Migrate(Pool& pool, const std::vector<EmbeddedFile>& files,
                     MigrationReport* report = nullptr);

// Hex SHA-256 of `content` (the checksum stored in schema_migrations).
std::string Sha256Hex(const std::string& content);

}  // namespace dvc::pg
