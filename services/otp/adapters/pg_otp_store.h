// OtpStore on PostgreSQL (libs/pg). Challenges are locked with SELECT … FOR UPDATE for every
// read-modify-write, so verification is single-use and attempt counting exact under concurrency.
// Send limits: each limit key has a row in otp_send_keys that is created-or-locked by one upsert
// (in sorted key order, so two sends never deadlock) before the sends in its window are counted
// and the new one recorded (one statement for all keys, one for the counts and the record); the
// counts live in otp_sends, the key row only serialises. The delivery outcome is recorded by one
// statement outside any transaction (pg::Pool::WithStatement).
// libpqxx exceptions thrown inside a transaction are mapped by pg::Pool::WithTransaction (which
// also retries deadlocks and serialization failures).
#pragma once

#include "absl/time/time.h"
#include "libs/pg/pool.h"
#include "services/otp/domain/ports.h"

namespace dvc::otp {

class PgOtpStore final : public OtpStore {
 public:
  explicit PgOtpStore(pg::Pool* pool) : pool_(pool) {}

  absl::Status InTransaction(Commit commit,
                             const std::function<absl::Status(OtpTx&)>& fn) override;
  absl::StatusOr<std::optional<Challenge>> RecordDelivery(const std::string& challenge_id,
                                                          int seq, DeliveryOutcome outcome,
                                                          absl::Time at) override;

  // Housekeeping: deletes challenges that expired before `challenges_before`, sends recorded
  // before `sends_before` (older than the longest window) and the limit keys left without sends,
  // and delivery-log rows older than `log_before`. Returns the number of challenges deleted.
  absl::StatusOr<int64_t> Purge(absl::Time challenges_before, absl::Time sends_before,
                                absl::Time log_before);

 private:
  pg::Pool* pool_;
};

}  // namespace dvc::otp
