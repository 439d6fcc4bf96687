#include "services/sigverify/adapters/pg_trust_anchor_store.h"

#include "absl/time/time.h"

namespace dvc::sigverify {
namespace {

std::string Timestamp(absl::Time t) {
  if (t == absl::InfinitePast()) return "-infinity";
  if (t == absl::InfiniteFuture()) return "infinity";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

}  // namespace

absl::Status PgTrustAnchorStore::RecordLoaded(const std::vector<TrustAnchor>& anchors,
                                              absl::Time loaded_at) {
  if (anchors.empty()) return absl::OkStatus();
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    for (const TrustAnchor& a : anchors) {
      pg::ExecPrepared(tx, 
          "INSERT INTO trust_anchors (fingerprint_sha256, subject, not_after, loaded_at) "
          "VALUES ($1, $2, $3::timestamptz, $4::timestamptz) "
          "ON CONFLICT (fingerprint_sha256) DO UPDATE SET subject = EXCLUDED.subject, "
          "not_after = EXCLUDED.not_after, loaded_at = EXCLUDED.loaded_at",
          a.fingerprint_sha256, a.subject, Timestamp(a.not_after), Timestamp(loaded_at));
    }
    return absl::OkStatus();
  });
}

}  // namespace dvc::sigverify
