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

absl::Status MethodRequired() {
  return st::InvalidArgument("METHOD_REQUIRED", "method",
                             "Bạn phải chọn phương thức đăng ký (USB ký số, SIM ký số hoặc VNPT "
                             "SmartCA).",
                             "Please choose a registration method (USB token, SIM signature or "
                             "VNPT SmartCA).");
}

absl::Status MethodInvalid() {
  return st::InvalidArgument("METHOD_INVALID", "method", "Phương thức đăng ký không hợp lệ.",
                             "The registration method is invalid.");
}

absl::Status SubjectKindRequired() {
  return st::InvalidArgument("SUBJECT_KIND_REQUIRED", "subject_kind",
                             "Bạn phải chọn đối tượng đăng ký (Công dân, Doanh nghiệp hoặc Cơ quan "
                             "nhà nước).",
                             "Please choose who registers (citizen, business or state agency).");
}

absl::Status SubjectKindInvalid() {
  return st::InvalidArgument("SUBJECT_KIND_INVALID", "subject_kind",
                             "Đối tượng đăng ký không hợp lệ.", "The subject kind is invalid.");
}

absl::Status MethodNotAllowedForSubject() {
  return st::InvalidArgument(
      "METHOD_NOT_ALLOWED_FOR_SUBJECT", "method",
      "Cơ quan nhà nước chỉ đăng ký được bằng USB ký số hoặc SIM ký số.",
      "A state agency can only register with a USB token or a SIM signature.");
}

absl::Status PhoneRequired() {
  return st::InvalidArgument("PHONE_REQUIRED", "phone",
                             "Bạn phải nhập số điện thoại của SIM ký số.",
                             "Please enter the phone number of your signing SIM.");
}

absl::Status SmartCaUserIdRequired() {
  return st::InvalidArgument("SMARTCA_USER_ID_REQUIRED", "smartca_user_id",
                             "Bạn phải nhập tài khoản VNPT SmartCA.",
                             "Please enter your VNPT SmartCA user id.");
}

absl::Status SmartCaUserIdMalformed() {
  return st::InvalidArgument(
      "SMARTCA_USER_ID_MALFORMED", "smartca_user_id",
      "Tài khoản VNPT SmartCA không hợp lệ (tối đa 64 ký tự chữ, số và . _ @ -).",
      "The VNPT SmartCA user id is invalid (at most 64 letters, digits and . _ @ -).");
}

absl::Status UnitCodeRequired() {
  return st::InvalidArgument("UNIT_CODE_REQUIRED", "unit_code",
                             "Bạn phải nhập mã định danh của cơ quan.",
                             "Please enter the agency's unit code.");
}

absl::Status SignatureFormatRequired() {
  return st::InvalidArgument("SIGNATURE_FORMAT_REQUIRED", "format",
                             "Thiếu định dạng chữ ký.", "The signature format is missing.");
}

absl::Status SignatureRequired() {
  return st::InvalidArgument("SIGNATURE_REQUIRED", "signature", "Thiếu chữ ký số.",
                             "The signature is missing.");
}

absl::Status CertificateRequired() {
  return st::InvalidArgument("CERTIFICATE_REQUIRED", "certificate",
                             "Thiếu chứng thư số của người ký.",
                             "The signer's certificate is missing.");
}

absl::Status ChallengeRenewalRequired() {
  return st::FailedPrecondition(
      "CHALLENGE_RENEWAL_REQUIRED", "flow_id",
      "Yêu cầu ký trước đó đã được sử dụng hoặc không thành công. Vui lòng thực hiện ký lại.",
      "The previous signing request was used or failed. Please sign again.");
}

absl::Status SignatureRequestsExceeded() {
  return st::FailedPrecondition(
      "SIGNATURE_REQUESTS_EXCEEDED", "flow_id",
      "Bạn đã thử ký quá số lần cho phép. Vui lòng thực hiện đăng ký lại từ đầu.",
      "Too many signing attempts. Please start the registration again.");
}

absl::Status EmailRequired() {
  return st::InvalidArgument("EMAIL_REQUIRED", "email",
                             "Doanh nghiệp bắt buộc phải nhập email.",
                             "An email address is required for a business account.");
}

absl::Status AccessTokenRequired() {
  return st::MakeError(
      absl::StatusCode::kUnauthenticated,
      {"ACCESS_TOKEN_REQUIRED", "access_token",
       "Vui lòng đăng nhập tài khoản đã có để thêm chứng thư số này.",
       "Please sign in to the existing account to add this certificate.",
       {}});
}

absl::Status AccessTokenInvalid() {
  return st::MakeError(
      absl::StatusCode::kUnauthenticated,
      {"ACCESS_TOKEN_INVALID", "access_token",
       "Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Vui lòng đăng nhập lại.",
       "The sign-in session is invalid or has expired. Please sign in again.",
       {}});
}

absl::Status AccountMismatch() {
  return st::MakeError(
      absl::StatusCode::kPermissionDenied,
      {"ACCOUNT_MISMATCH", "access_token",
       "Tài khoản đang đăng nhập không phải là tài khoản đã đăng ký cho chứng thư số này.",
       "The signed-in account is not the account registered for this certificate's holder.",
       {}});
}

absl::Status ForFailure(const std::string& failure_reason) {
  if (failure_reason == kPhoneNotOwned) return PhoneNotOwned();
  if (failure_reason == kAccountExists) return AccountExists();
  if (failure_reason == kSignatureRequestsExceeded) return SignatureRequestsExceeded();
  return FlowFailed(failure_reason);
}

}  // namespace dvc::registration::errors
