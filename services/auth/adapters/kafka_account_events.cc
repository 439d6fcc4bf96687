#include "services/auth/adapters/kafka_account_events.h"

#include "absl/strings/str_cat.h"
#include "libs/logging/log.h"
#include "protos/dvc/events/v1/account_events.pb.h"

namespace dvc::auth {
namespace {

namespace ev = ::dvc::events::v1;

}  // namespace

absl::Status AccountEventHandler::Handle(const kafka::ReceivedMessage& m) {
  const std::string where = absl::StrCat(m.topic, "/", m.partition, "@", m.offset);
  ev::AccountEvent event;
  if (!event.ParseFromString(m.value)) {
    // Never the payload: it is not ours to print.
    log::Warn("account_event.unparsable", {{"message", where}});
    return absl::OkStatus();
  }
  if (!event.has_credential_changed()) return absl::OkStatus();
  const ev::CredentialChanged& change = event.credential_changed();
  if (change.credential_type() != "PASSWORD" || change.change() != "CHANGED") {
    return absl::OkStatus();
  }
  if (event.account_id().empty()) {
    log::Warn("account_event.account_missing",
              {{"message", where}, {"event_id", event.event_id()}});
    return absl::OkStatus();
  }
  std::optional<absl::Time> changed_at;
  if (event.has_occurred_at() && event.occurred_at().seconds() > 0) {
    changed_at = absl::FromUnixSeconds(event.occurred_at().seconds()) +
                 absl::Nanoseconds(event.occurred_at().nanos()) + options_.clock_skew;
  }
  auto revoked = revoke_(event.account_id(), kRevokeReasonPasswordChanged, changed_at);
  if (!revoked.ok()) {
    if (revoked.status().code() == absl::StatusCode::kInvalidArgument) {
      // Retrying cannot help (e.g. an account id that is not a UUID).
      log::Warn("account_event.rejected",
                {{"message", where},
                 {"event_id", event.event_id()},
                 {"error", revoked.status().ToString()}});
      return absl::OkStatus();
    }
    return revoked.status();  // retried by the consumer
  }
  log::Info("account_event.password_changed",
            {{"event_id", event.event_id()},
             {"account_id", event.account_id()},
             {"sessions_revoked", absl::StrCat(*revoked)}});
  return absl::OkStatus();
}

}  // namespace dvc::auth
