// FlowStore on PostgreSQL (table registration_flows, migrations/0001_registration_flows.sql).
//
// Personal data is sealed column by column with a FieldCipher (associated data
// "registration_flows.<column>:<flow id>", so a value moved to another row or column does not
// open); a certificate flow's signer and verified certificate are one sealed JSON document
// (column cert_sealed). Steps are serialised with a row lock: WithLockedFlow runs the step
// inside a transaction that holds SELECT … FOR UPDATE on the flow, so a concurrent step on the same flow waits (at
// most `lock_timeout`, then ABORTED FLOW_BUSY) and then sees the state the first one left. The
// transaction stays open during the step's calls to other services (bounded by their
// deadlines); the pool must be sized for that. It is never re-run after the step ran.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "libs/crypto/aead.h"
#include "libs/pg/pool.h"
#include "services/registration/domain/ports.h"

namespace dvc::registration {

class PgFlowStore final : public FlowStore {
 public:
  // `pool` and `cipher` must outlive the store.
  PgFlowStore(pg::Pool* pool, const crypto::FieldCipher* cipher,
              absl::Duration lock_timeout = absl::Seconds(20));

  absl::Status Insert(const Flow& flow) override;
  absl::StatusOr<std::optional<Flow>> Get(const std::string& flow_id) override;
  absl::StatusOr<std::optional<Flow>> FindByStartRequest(const std::string& request_id) override;
  absl::Status WithLockedFlow(const std::string& flow_id, const StepFn& fn) override;

  // Deletes flows that expired before `before`; returns how many.
  absl::StatusOr<int> PurgeExpired(absl::Time before);

 private:
  pg::Pool* pool_;
  const crypto::FieldCipher* cipher_;
  absl::Duration lock_timeout_;
};

}  // namespace dvc::registration
