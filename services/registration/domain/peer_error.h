// How the registration domain answers a failure of another service (internal to the domain).
#pragma once

#include <string>

#include "absl/status/status.h"

namespace dvc::registration {

// UNAVAILABLE or DEADLINE_EXCEEDED: the step may be retried.
bool IsTransient(const absl::Status& s);

// A peer's failure as answered to our client: transient ones become TEMPORARILY_UNAVAILABLE
// (retry the step / ResumeFlow), the rest pass through unchanged; flow_id is always attached.
absl::Status PeerError(const absl::Status& s, const std::string& flow_id, const char* what);

// Like PeerError, but a transient failure that carries its own reason (sigverify's
// CERT_REVOCATION_UNKNOWN, SIGNER_UNREACHABLE, …) passes through with that reason.
absl::Status ReasonedPeerError(const absl::Status& s, const std::string& flow_id,
                               const char* what);

}  // namespace dvc::registration
