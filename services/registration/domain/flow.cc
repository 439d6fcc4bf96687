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
    case FlowState::kSignatureStartPending: return "SIGNATURE_START_PENDING";
    case FlowState::kSignatureRequired: return "SIGNATURE_REQUIRED";
    case FlowState::kSignaturePending: return "SIGNATURE_PENDING";
    case FlowState::kDuplicateCheckPending: return "DUPLICATE_CHECK_PENDING";
    case FlowState::kReview: return "REVIEW";
    case FlowState::kExistingAccount: return "EXISTING_ACCOUNT";
  }
  return "UNKNOWN";
}

std::optional<FlowState> ParseState(const std::string& name) {
  for (FlowState s : {FlowState::kSubscriberCheckPending, FlowState::kOtpSendPending,
                      FlowState::kOtpSent, FlowState::kPasswordRequired, FlowState::kCompleted,
                      FlowState::kFailed, FlowState::kSignatureStartPending,
                      FlowState::kSignatureRequired, FlowState::kSignaturePending,
                      FlowState::kDuplicateCheckPending, FlowState::kReview,
                      FlowState::kExistingAccount}) {
    if (name == StateName(s)) return s;
  }
  return std::nullopt;
}

bool IsTerminal(FlowState s) { return s == FlowState::kCompleted || s == FlowState::kFailed; }

const char* PublicStateName(FlowState s) {
  return s == FlowState::kOtpSendPending ? StateName(FlowState::kSubscriberCheckPending)
                                         : StateName(s);
}

const char* SubjectKindName(SubjectKind k) {
  switch (k) {
    case SubjectKind::kCitizen: return "CITIZEN";
    case SubjectKind::kBusiness: return "BUSINESS";
    case SubjectKind::kAgency: return "AGENCY";
  }
  return "UNKNOWN";
}

std::optional<SubjectKind> ParseSubjectKind(const std::string& name) {
  for (SubjectKind k : {SubjectKind::kCitizen, SubjectKind::kBusiness, SubjectKind::kAgency}) {
    if (name == SubjectKindName(k)) return k;
  }
  return std::nullopt;
}

bool IsCertificateMethod(const std::string& method) {
  return method == kMethodUsb || method == kMethodSim || method == kMethodSmartCa;
}

}  // namespace dvc::registration
