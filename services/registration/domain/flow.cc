#include "services/registration/domain/flow.h"

namespace dvc::registration {

const char* StateName(FlowState s) {
  switch (s) {
    case FlowState::kSubscriberCheckPending: return "SUBSCRIBER_CHECK_PENDING";
    case FlowState::kOtpSendPending: return "OTP_SEND_PENDING";
    case FlowState::kOtpSent: return "OTP_SENT";
    case FlowState::kPasswordRequired: return "PASSWORD_REQUIRED";
    case FlowState::kCompleted: return "COMPLETED";
    case FlowState::kFailed: return "FAILED";
  }
  return "UNKNOWN";
}

std::optional<FlowState> ParseState(const std::string& name) {
  for (FlowState s : {FlowState::kSubscriberCheckPending, FlowState::kOtpSendPending,
                      FlowState::kOtpSent, FlowState::kPasswordRequired, FlowState::kCompleted,
                      FlowState::kFailed}) {
    if (name == StateName(s)) return s;
  }
  return std::nullopt;
}

bool IsTerminal(FlowState s) { return s == FlowState::kCompleted || s == FlowState::kFailed; }

const char* PublicStateName(FlowState s) {
  return s == FlowState::kOtpSendPending ? StateName(FlowState::kSubscriberCheckPending)
                                         : StateName(s);
}

}  // namespace dvc::registration
