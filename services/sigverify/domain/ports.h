// Persistence ports of the signature service: one-time challenges and remote-signing
// transactions. Implemented on PostgreSQL in adapters/, by in-memory fakes in tests.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dvc::sigverify {

enum class Purpose { kRegistration = 1, kLogin = 2, kAddMethod = 3 };
enum class RemoteProvider { kSim = 1, kSmartCa = 2 };

struct StoredChallenge {
  std::string challenge_id;  // UUID
  std::string flow_id;
  Purpose purpose = Purpose::kLogin;
  std::string challenge;     // the bytes to be signed
  absl::Time expires_at;
};

class ChallengeStore {
 public:
  virtual ~ChallengeStore() = default;
  virtual absl::Status Insert(const StoredChallenge& challenge) = 0;
  // Marks the challenge used, atomically (exactly one caller wins), and returns it. Only a
  // challenge with this id AND flow AND purpose counts. Errors:
  //   NotFound CHALLENGE_NOT_FOUND (no such challenge for this flow and purpose),
  //   FailedPrecondition CHALLENGE_USED / CHALLENGE_EXPIRED (expires_at <= now).
  virtual absl::StatusOr<StoredChallenge> Consume(const std::string& challenge_id,
                                                  const std::string& flow_id, Purpose purpose,
                                                  absl::Time now) = 0;
};

struct RemoteSignature {
  enum class State { kPending = 1, kDone = 2, kFailed = 3 };
  std::string transaction_id;  // ours (UUID)
  std::string flow_id;
  Purpose purpose = Purpose::kLogin;
  RemoteProvider provider = RemoteProvider::kSim;
  std::string challenge;                 // what was signed (its SHA-256 went to the provider)
  std::string provider_transaction_id;
  std::vector<std::string> start_chain;  // chain known at start (SmartCA), DER, leaf first
  absl::Time expires_at;
  State state = State::kPending;
  // kDone: the signer certificate and chain (DER, leaf first).
  std::vector<std::string> result_chain;
  // kFailed: the reason (e.g. SIGNER_USER_CANCELLED) the failure is replayed with.
  std::string failure_reason;
};

class RemoteSignatureStore {
 public:
  virtual ~RemoteSignatureStore() = default;
  virtual absl::Status Insert(const RemoteSignature& tx) = 0;
  // NotFound REMOTE_SIGNATURE_NOT_FOUND unless id, flow and purpose all match.
  virtual absl::StatusOr<RemoteSignature> Get(const std::string& transaction_id,
                                              const std::string& flow_id, Purpose purpose) = 0;
  // Pending → done / failed. A transaction already finished keeps its first outcome (returns OK).
  virtual absl::Status MarkDone(const std::string& transaction_id,
                                const std::vector<std::string>& chain) = 0;
  virtual absl::Status MarkFailed(const std::string& transaction_id,
                                  const std::string& reason) = 0;
};

}  // namespace dvc::sigverify
