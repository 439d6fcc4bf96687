// LookupAudit on PostgreSQL: the lookup_audit table (migrations/0001_lookup_audit.sql).
#pragma once

#include "libs/pg/pool.h"
#include "services/idv_gateway/domain/idv.h"

namespace dvc::idv {

class PgLookupAudit final : public LookupAudit {
 public:
  explicit PgLookupAudit(pg::Pool* pool) : pool_(pool) {}
  // All entries in one transaction.
  absl::Status Record(const std::vector<AuditEntry>& entries) override;

 private:
  pg::Pool* pool_;
};

}  // namespace dvc::idv
