#include "services/registration/domain/peer_error.h"

#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "services/registration/domain/errors.h"

namespace dvc::registration {

bool IsTransient(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

absl::Status PeerError(const absl::Status& s, const std::string& flow_id, const char* what) {
  if (IsTransient(s)) {
    log::Warn("registration.peer_unavailable",
              {{"flow_id", flow_id}, {"peer", what}, {"code", absl::StatusCodeToString(s.code())}});
    return errors::TemporarilyUnavailable(flow_id);
  }
  if (s.code() == absl::StatusCode::kInternal || status::ReasonOf(s).empty()) {
    log::Warn("registration.peer_error",
              {{"flow_id", flow_id}, {"peer", what}, {"code", absl::StatusCodeToString(s.code())}});
  }
  return status::WithMetadata(s, "flow_id", flow_id);
}

absl::Status ReasonedPeerError(const absl::Status& s, const std::string& flow_id,
                               const char* what) {
  if (IsTransient(s) && !status::ReasonOf(s).empty()) {
    log::Warn("registration.peer_unavailable",
              {{"flow_id", flow_id}, {"peer", what}, {"reason", status::ReasonOf(s)}});
    return status::WithMetadata(s, "flow_id", flow_id);
  }
  return PeerError(s, flow_id, what);
}

}  // namespace dvc::registration
