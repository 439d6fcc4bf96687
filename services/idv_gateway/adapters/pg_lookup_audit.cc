#include "services/idv_gateway/adapters/pg_lookup_audit.h"

#include "absl/time/time.h"

namespace dvc::idv {

absl::Status PgLookupAudit::Record(const std::vector<AuditEntry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    for (const AuditEntry& e : entries) {
      pg::ExecPrepared(tx, 
          "INSERT INTO lookup_audit (request_id, provider, operation, outcome, attempt, "
          "latency_ms, at) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz)",
          e.request_id, e.provider, e.operation, e.outcome, e.attempt,
          static_cast<int64_t>(e.latency_ms),
          absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", e.at, absl::UTCTimeZone()));
    }
    return absl::OkStatus();
  });
}

}  // namespace dvc::idv
