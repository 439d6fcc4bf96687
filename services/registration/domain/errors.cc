#include "services/registration/domain/errors.h"

#include "libs/status/errors.h"

namespace dvc::registration::errors {

namespace st = dvc::status;

absl::Status FlowIdRequired() {
  return st::InvalidArgument("FLOW_ID_REQUIRED", "flow_id", "Thiếu mã phiên đăng ký.",
                             "The registration flow id is missing.");
}

absl::Status FlowNotFound() {
  return st::NotFound("FLOW_NOT_FOUND", "flow_id",
                      "Không tìm thấy phiên đăng ký. Vui lòng thực hiện đăng ký lại.",
                      "Registration not found. Please start the registration again.");
}

absl::Status FlowExpired() {
  return st::FailedPrecondition(
      "FLOW_EXPIRED", "flow_id",
      "Phiên đăng ký đã hết hạn. Vui lòng thực hiện đăng ký lại từ đầu.",
      "This registration has expired. Please start the registration again.");
}

absl::Status FlowCompleted() {
  return st::FailedPrecondition(
      "FLOW_COMPLETED", "flow_id",
      "Tài khoản đã được đăng ký thành công. Vui lòng đăng nhập bằng số CMT/CCCD và mật khẩu.",
      "The account has already been registered. Please sign in with your ID number and "
      "password.");
}

absl::Status FlowFailed(const std::string& failure_reason) {
  absl::Status s = st::FailedPrecondition(
      "FLOW_FAILED", "flow_id",
      "Phiên đăng ký này không thể tiếp tục. Vui lòng thực hiện đăng ký lại từ đầu.",
      "This registration cannot continue. Please start the registration again.");
  return st::WithMetadata(s, "failure_reason", failure_reason);
}

absl::Status FlowWrongState(const std::string& state) {
  absl::Status s = st::FailedPrecondition(
      "FLOW_WRONG_STATE", "flow_id",
      "Bước này không thực hiện được ở trạng thái hiện tại của phiên đăng ký.",
      "This step is not allowed in the current state of the registration.");
  return st::WithMetadata(s, "state", state);
}

absl::Status ConsentRequired() {
  return st::InvalidArgument(
      "CONSENT_REQUIRED", "consent_version",
      "Bạn cần đồng ý với Điều khoản và Chính sách chia sẻ thông tin để đăng ký tài khoản.",
      "You must accept the Terms and the information-sharing policy to register.");
}

absl::Status PhoneNotOwned() {
  return st::FailedPrecondition(
      "PHONE_NOT_OWNED", "phone",
      "Số điện thoại không được đăng ký chính chủ cho người có thông tin đã nhập. Vui lòng kiểm "
      "tra lại thông tin cá nhân của thuê bao với nhà mạng (tại quầy giao dịch của nhà mạng) rồi "
      "đăng ký lại.",
      "This phone number is not registered to the person with the details entered. Please check "
      "the subscriber's personal data with your mobile carrier (at one of its service counters), "
      "then register again.");
}

absl::Status AccountExists() {
  return st::AlreadyExists(
      "ACCOUNT_EXISTS", "id_number",
      "Số CMT/CCCD này đã được đăng ký tài khoản. Bạn có thể lấy lại mật khẩu bằng chức năng "
      "“Quên mật khẩu” tại màn hình đăng nhập, đến quầy giao dịch để lấy lại mật khẩu, hoặc gửi "
      "khiếu nại nếu bạn không sở hữu tài khoản này.",
      "An account is already registered for this ID number. You can recover the password with "
      "“Quên mật khẩu” (Forgot password) on the sign-in screen or at a service counter, or file "
      "a complaint if you do not own this account.");
}

absl::Status OtpRequired() {
  return st::InvalidArgument("OTP_REQUIRED", "otp", "Bạn phải nhập mã OTP.",
                             "Please enter the OTP code.");
}

absl::Status OtpMalformed() {
  return st::InvalidArgument("OTP_MALFORMED", "otp", "Mã OTP gồm 6 chữ số.",
                             "The OTP code has 6 digits.");
}

absl::Status RequestIdReused() {
  return st::InvalidArgument(
      "REQUEST_ID_REUSED", "request_id",
      "Mã yêu cầu đã được dùng cho một đăng ký khác.",
      "This request id was already used for a different registration.");
}

absl::Status IdvUnavailable(const std::string& flow_id) {
  absl::Status s = st::Unavailable(
      "IDV_PROVIDER_UNAVAILABLE",
      "Hệ thống kiểm tra thông tin thuê bao của nhà mạng tạm thời chưa phản hồi. Vui lòng thử "
      "lại sau ít phút.",
      "The carrier's subscriber check is temporarily unavailable. Please try again in a moment.");
  return st::WithMetadata(s, "flow_id", flow_id);
}

absl::Status TemporarilyUnavailable(const std::string& flow_id) {
  absl::Status s = st::Unavailable(
      "TEMPORARILY_UNAVAILABLE",
      "Hệ thống đang tạm thời gián đoạn. Vui lòng thử lại sau ít phút.",
      "The service is temporarily unavailable. Please try again in a moment.");
  return st::WithMetadata(s, "flow_id", flow_id);
}

absl::Status ForFailure(const std::string& failure_reason) {
  if (failure_reason == kPhoneNotOwned) return PhoneNotOwned();
  if (failure_reason == kAccountExists) return AccountExists();
  return FlowFailed(failure_reason);
}

}  // namespace dvc::registration::errors
