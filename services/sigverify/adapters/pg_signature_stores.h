// PostgreSQL implementations of the signature service's ports (tables `challenges` and
// `remote_signatures`, migration 0002).
#pragma once

#include "libs/pg/pool.h"
#include "services/sigverify/domain/ports.h"

namespace dvc::sigverify {

class PgChallengeStore final : public ChallengeStore {
 public:
  explicit PgChallengeStore(pg::Pool* pool) : pool_(pool) {}
  absl::Status Insert(const StoredChallenge& challenge) override;
  absl::StatusOr<StoredChallenge> Consume(const std::string& challenge_id,
                                          const std::string& flow_id, Purpose purpose,
                                          absl::Time now) override;
  // Deletes challenges that expired before `cutoff`; returns how many.
  absl::StatusOr<int> PurgeExpired(absl::Time cutoff);

 private:
  pg::Pool* const pool_;
};

class PgRemoteSignatureStore final : public RemoteSignatureStore {
 public:
  explicit PgRemoteSignatureStore(pg::Pool* pool) : pool_(pool) {}
  absl::Status Insert(const RemoteSignature& tx) override;
  absl::StatusOr<RemoteSignature> Get(const std::string& transaction_id,
                                      const std::string& flow_id, Purpose purpose) override;
  absl::Status MarkDone(const std::string& transaction_id,
                        const std::vector<std::string>& chain) override;
  absl::Status MarkFailed(const std::string& transaction_id, const std::string& reason) override;
  absl::StatusOr<int> PurgeExpired(absl::Time cutoff);

 private:
  pg::Pool* const pool_;
};

}  // namespace dvc::sigverify
