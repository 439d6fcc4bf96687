// TrustAnchorStore on PostgreSQL: the trust_anchors table (migrations/0001_trust_anchors.sql).
#pragma once

#include "libs/pg/pool.h"
#include "services/sigverify/domain/trust_store.h"

namespace dvc::sigverify {

class PgTrustAnchorStore final : public TrustAnchorStore {
 public:
  explicit PgTrustAnchorStore(pg::Pool* pool) : pool_(pool) {}
  // Upserts every anchor (subject, not_after, loaded_at refreshed) in one transaction. Rows of
  // anchors no longer configured stay, with their last loaded_at: replicas may briefly run
  // different trust stores during a roll-out.
  absl::Status RecordLoaded(const std::vector<TrustAnchor>& anchors,
                            absl::Time loaded_at) override;

 private:
  pg::Pool* pool_;
};

}  // namespace dvc::sigverify
