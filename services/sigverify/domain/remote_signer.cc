#include "services/sigverify/domain/remote_signer.h"

#include <cstdio>

#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

constexpr unsigned char kSha256DigestInfoPrefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                     0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                     0x01, 0x05, 0x00, 0x04, 0x20};

struct ReasonSpec {
  const char* reason;
  absl::StatusCode code;
  const char* field;
  const char* vi;
  const char* en;
};

constexpr ReasonSpec kReasons[] = {
    {"SIGNER_USER_CANCELLED", absl::StatusCode::kFailedPrecondition, "subscriber",
     "Bạn đã từ chối yêu cầu ký số trên thiết bị.",
     "The signing request was cancelled on the device."},
    {"SIGNER_TIMEOUT", absl::StatusCode::kFailedPrecondition, "subscriber",
     "Hết thời gian chờ xác nhận ký số trên thiết bị. Vui lòng thử lại.",
     "The signing request was not confirmed on the device in time. Please try again."},
    {"SIGNER_PIN_BLOCKED", absl::StatusCode::kFailedPrecondition, "subscriber",
     "Mã PIN ký số hoặc SIM ký số đã bị khóa. Vui lòng liên hệ nhà cung cấp dịch vụ.",
     "The signing PIN or the signing SIM is blocked. Please contact your provider."},
    {"SIGNER_NO_CERTIFICATE", absl::StatusCode::kFailedPrecondition, "subscriber",
     "Không tìm thấy chứng thư số hợp lệ cho thuê bao/tài khoản này.",
     "No valid signing certificate was found for this subscriber or account."},
    {"SIGNER_UNREACHABLE", absl::StatusCode::kUnavailable, "subscriber",
     "Không liên lạc được với điện thoại của bạn. Vui lòng kiểm tra sóng di động và thử lại.",
     "Your phone could not be reached. Please check the mobile signal and try again."},
    {"SIGNER_PROVIDER_ERROR", absl::StatusCode::kUnavailable, "",
     "Nhà cung cấp dịch vụ ký số đang gặp sự cố. Vui lòng thử lại sau.",
     "The signing provider is not available right now. Please try again later."},
    {"SIGNATURE_INVALID", absl::StatusCode::kInvalidArgument, "signature",
     "Chữ ký số không hợp lệ.", "The signature is not valid."},
    {"CERT_REVOKED", absl::StatusCode::kInvalidArgument, "certificate",
     "Chứng thư số đã bị thu hồi.", "The certificate has been revoked."},
};

}  // namespace

std::string Sha256DigestInfo(absl::string_view digest32) {
  if (digest32.size() != 32) return "";
  std::string out(reinterpret_cast<const char*>(kSha256DigestInfoPrefix),
                  sizeof kSha256DigestInfoPrefix);
  out.append(digest32.data(), digest32.size());
  return out;
}

std::string VerificationCode(absl::string_view digest32) {
  if (digest32.size() != 32) return "";
  const auto first = static_cast<unsigned char>(digest32.front());
  const auto last = static_cast<unsigned char>(digest32.back());
  const int code = ((first >> 2) << 7) | (last & 0x7F);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04d", code);
  return buf;
}

absl::Status RemoteSignerError(absl::string_view reason, absl::string_view detail_vi,
                               absl::string_view detail_en) {
  const ReasonSpec* spec = nullptr;
  for (const ReasonSpec& r : kReasons) {
    if (reason == r.reason) spec = &r;
  }
  if (spec == nullptr) {
    for (const ReasonSpec& r : kReasons) {
      if (absl::string_view(r.reason) == "SIGNER_PROVIDER_ERROR") spec = &r;
    }
  }
  status::ErrorInfo info;
  info.reason = spec->reason;
  info.field = spec->field;
  info.message_vi = detail_vi.empty() ? spec->vi : std::string(detail_vi);
  info.message_en = detail_en.empty() ? spec->en : std::string(detail_en);
  return status::MakeError(spec->code, info);
}

absl::Status RemoteProviderError(absl::string_view provider, absl::string_view op,
                                 absl::string_view what, absl::string_view key,
                                 std::string value, log::Level level) {
  if (key.empty()) {
    log::Write(level, "remote_signer.provider_error",
               {{"provider", std::string(provider)},
                {"op", std::string(op)},
                {"what", std::string(what)}});
  } else {
    log::Write(level, "remote_signer.provider_error",
               {{"provider", std::string(provider)},
                {"op", std::string(op)},
                {"what", std::string(what)},
                {key, std::move(value)}});
  }
  return RemoteSignerError("SIGNER_PROVIDER_ERROR");
}

}  // namespace dvc::sigverify
