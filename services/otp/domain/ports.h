// Ports of the OTP domain: persistence (OtpStore) and the SMS channel (SmsSender). No gRPC or SQL
// types here; adapters/ implements them on PostgreSQL and HTTP, testing/ in memory.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace dvc::otp {

enum class Delivery { kPending = 1, kSent = 2, kFailed = 3 };

// One OTP challenge as stored. Neither the code nor the phone is held in clear: `code_hmac` is the
// hex HMAC-SHA256(otp_hmac_key, id ":" code), `phone_sealed` a crypto::FieldCipher value and
// `phone_index` / `subject_index` blind indexes.
struct Challenge {
  std::string id;          // UUIDv4
  std::string request_id;  // the SendOtp idempotency key
  std::string purpose;
  std::string phone_sealed;
  std::string phone_index;
  std::string subject_index;  // "" when the request had no subject
  std::string code_hmac;      // hex
  int seq = 1;                // number of codes generated for this challenge (1 = first send)
  Delivery delivery = Delivery::kPending;  // of the current code
  int attempts_left = 0;
  int deliveries = 0;  // codes the gateway accepted; resends used = max(0, deliveries - 1)
  absl::Time created_at;
  absl::Time expires_at;
  absl::Time resend_after;
  std::optional<absl::Time> used_at;
  // The VerifyOtp idempotency key recorded with the consumption ("" when none): a retry of that
  // same step may replay the success (see OtpDomain::Verify).
  std::string used_key;
};

// A send limit: at most `limit` sends recorded under `key` in any sliding `window`.
struct SendLimit {
  std::string key;
  int limit = 0;
  absl::Duration window;
};

enum class DeliveryOutcome { kSent, kFailed };

// The operations available inside one store transaction. Reads lock what they return until the
// transaction ends (SELECT … FOR UPDATE), so the domain's read-modify-write is atomic.
class OtpTx {
 public:
  virtual ~OtpTx() = default;
  virtual absl::StatusOr<std::optional<Challenge>> LockById(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<Challenge>> LockByRequestId(
      const std::string& request_id) = 0;
  // false when a challenge with the same request_id exists already (nothing written).
  virtual absl::StatusOr<bool> InsertIfAbsent(const Challenge& c) = 0;
  // Overwrites the mutable fields of challenge `c.id`.
  virtual absl::Status Update(const Challenge& c) = 0;
  // Serialises on every key, counts the sends recorded in each key's window ending at `now`
  // (sends at t count while now < t + window). If every key is under its limit, records one send
  // per key for (challenge_id, seq) and returns nullopt; otherwise records nothing and returns
  // how long until every key would accept one more send.
  virtual absl::StatusOr<std::optional<absl::Duration>> TryRecordSend(
      const std::vector<SendLimit>& limits, absl::Time now, const std::string& challenge_id,
      int seq) = 0;

  // What InsertIfAbsentAndRecordSend did: `inserted` is false when a challenge with the same
  // request_id exists (nothing written); otherwise `wait` is TryRecordSend's answer.
  struct InsertedSend {
    bool inserted = false;
    std::optional<absl::Duration> wait;
  };
  // InsertIfAbsent(c), then, when inserted, TryRecordSend(limits, now, c.id, c.seq): the start
  // of a new send. Adapters may do it in fewer round trips than the two calls.
  virtual absl::StatusOr<InsertedSend> InsertIfAbsentAndRecordSend(
      const Challenge& c, const std::vector<SendLimit>& limits, absl::Time now) {
    auto inserted = InsertIfAbsent(c);
    if (!inserted.ok()) return inserted.status();
    InsertedSend out;
    out.inserted = *inserted;
    if (!out.inserted) return out;
    auto wait = TryRecordSend(limits, now, c.id, c.seq);
    if (!wait.ok()) return wait.status();
    out.wait = *wait;
    return out;
  }
};

// How a transaction's commit survives a crash of the database server.
enum class Commit {
  // On disk before InTransaction returns. Verification: a consumed code must never become
  // usable again.
  kDurable,
  // May be lost, whole, with the last moments (~600 ms) of commits if the database server
  // crashes (PostgreSQL's asynchronous commit). Issuing a code: its loss costs the user a resend.
  kLossTolerable,
};

class OtpStore {
 public:
  virtual ~OtpStore() = default;
  // Runs `fn` in one transaction: commits when it returns OK, rolls back otherwise (its status
  // is returned). `fn` may run more than once (serialization retries): no side effects outside.
  virtual absl::Status InTransaction(Commit commit,
                                     const std::function<absl::Status(OtpTx&)>& fn) = 0;

  // Records the gateway's answer for code `seq` of the challenge, atomically (one statement: no
  // transaction round trips on the hot path): when the challenge's current code is still `seq`
  // and PENDING, its delivery becomes SENT (deliveries + 1) or FAILED; a FAILED delivery's sends
  // are removed from the send limits (it does not count); the outcome is appended to the
  // delivery log (no code, no phone). Idempotent. Returns the challenge as it is afterwards,
  // nullopt when it no longer exists (nothing written).
  virtual absl::StatusOr<std::optional<Challenge>> RecordDelivery(const std::string& challenge_id,
                                                                  int seq,
                                                                  DeliveryOutcome outcome,
                                                                  absl::Time at) = 0;
};

struct SmsMessage {
  std::string to;          // E.164 without '+', e.g. "84912345678"
  std::string text;
  std::string message_id;  // idempotency key at the gateway ("<challenge id>.<seq>")
};

class SmsSender {
 public:
  virtual ~SmsSender() = default;
  // OK once the gateway accepted the message; UNAVAILABLE / DEADLINE_EXCEEDED otherwise.
  virtual absl::Status Send(const SmsMessage& m) = 0;
};

}  // namespace dvc::otp
