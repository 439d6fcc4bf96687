// In-memory fakes of the OTP ports for domain and service tests.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "services/otp/domain/ports.h"

namespace dvc::otp::testing {

// OtpStore in memory with the semantics of the PostgreSQL adapter: transactions are serialised
// by one mutex and roll back (state restored) when the body returns an error.
class FakeOtpStore final : public OtpStore {
 public:
  struct Send {
    std::string key;
    absl::Time at;
    std::string challenge_id;
    int seq;
  };
  struct DeliveryRecord {
    std::string challenge_id;
    int seq;
    DeliveryOutcome outcome;
    absl::Time at;
  };

  absl::Status InTransaction(Commit commit,
                             const std::function<absl::Status(OtpTx&)>& fn) override;
  absl::StatusOr<std::optional<Challenge>> RecordDelivery(const std::string& challenge_id,
                                                          int seq, DeliveryOutcome outcome,
                                                          absl::Time at) override;

  // Test access (not thread-safe against running transactions).
  std::map<std::string, Challenge> challenges;  // by id
  std::vector<Send> sends;
  std::vector<DeliveryRecord> deliveries;
  std::vector<Commit> commits;  // the durability asked of each transaction that committed
  // When set, the next InTransaction / RecordDelivery calls fail with it before running.
  absl::Status fail_next = absl::OkStatus();

 private:
  class Tx;
  std::mutex mu_;
};

// Records every message; fails while `fail` is set (UNAVAILABLE by default).
class FakeSmsSender final : public SmsSender {
 public:
  absl::Status Send(const SmsMessage& m) override;

  // The 6-digit code of the last message sent to `msisdn` ("" if none).
  std::string LastCode(const std::string& msisdn) const;
  std::vector<SmsMessage> Sent() const;
  void SetFailure(absl::Status s);
  int attempts() const;

 private:
  mutable std::mutex mu_;
  std::vector<SmsMessage> sent_;
  absl::Status fail_ = absl::OkStatus();
  int attempts_ = 0;
};

}  // namespace dvc::otp::testing
