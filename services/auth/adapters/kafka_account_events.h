// Consumes the accounts service's events (dvc.events.v1.AccountEvent on topic
// "dvc.accounts.v1", libs/kafka/consumer.h) for auth: a password change
// (credential_changed{credential_type:"PASSWORD", change:"CHANGED"}) ends the account's sessions
// that began before the change (DOMAIN-FACTS: "end other sessions after a password change").
//
// Every other event is ignored. A payload that does not parse (or lacks an account id) is logged
// without its content and answered OK, so that one bad message cannot block its partition. A
// failure to revoke (database down) is returned: the consumer retries the same message.
// Handling is idempotent (a re-delivered event revokes nothing more: sessions begun after the
// change are kept).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/kafka/consumer.h"

namespace dvc::auth {

inline constexpr char kAccountsTopic[] = "dvc.accounts.v1";
inline constexpr char kRevokeReasonPasswordChanged[] = "PASSWORD_CHANGED";

// AuthDomain::RevokeAllSessions(account_id, reason, changed_at).
using RevokeAllSessionsFn = std::function<absl::StatusOr<int>(
    const std::string& account_id, const std::string& reason,
    std::optional<absl::Time> changed_at)>;

struct AccountEventOptions {
  // Added to the event's occurred_at (the accounts host's clock) to cover clock differences
  // between hosts: sessions begun up to this long after the change are ended too.
  absl::Duration clock_skew = absl::Seconds(5);
};

class AccountEventHandler final {
 public:
  explicit AccountEventHandler(RevokeAllSessionsFn revoke, AccountEventOptions options = {})
      : revoke_(std::move(revoke)), options_(options) {}

  // The kafka::MessageHandler.
  absl::Status Handle(const kafka::ReceivedMessage& message);

 private:
  RevokeAllSessionsFn revoke_;
  AccountEventOptions options_;
};

}  // namespace dvc::auth
