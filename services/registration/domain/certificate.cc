#include "services/registration/domain/certificate.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/validators/mst.h"
#include "libs/validators/phone.h"
#include "services/registration/domain/errors.h"

namespace dvc::registration {
namespace {

namespace st = dvc::status;

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

bool IsPrintableAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool IsSmartCaUserId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (unsigned char c : s) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '@' && c != '-') return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateCertificateStart(const StartCertificateInput& in, std::string* method,
                                      CertificateFlow* cert, std::string* consent_version) {
  // 1. Method.
  const std::string m = absl::AsciiStrToUpper(Trim(in.method));
  if (m.empty()) return errors::MethodRequired();
  if (!IsCertificateMethod(m)) return errors::MethodInvalid();

  // 2. Subject kind, then SUB-3 (agencies: USB or SIM only).
  const std::string k = absl::AsciiStrToUpper(Trim(in.subject_kind));
  if (k.empty()) return errors::SubjectKindRequired();
  std::optional<SubjectKind> kind = ParseSubjectKind(k);
  if (!kind) return errors::SubjectKindInvalid();
  if (*kind == SubjectKind::kAgency && m == kMethodSmartCa) {
    return errors::MethodNotAllowedForSubject();
  }

  // 3. The signer: the SIM's phone, or the SmartCA user id.
  std::string subscriber;
  if (m == kMethodSim) {
    const std::string phone = Trim(in.phone);
    if (phone.empty()) return errors::PhoneRequired();
    auto normalized = validators::NormalizePhone(phone, "phone");
    if (!normalized.ok()) return normalized.status();
    subscriber = *normalized;
  } else if (m == kMethodSmartCa) {
    const std::string user = Trim(in.smartca_user_id);
    if (user.empty()) return errors::SmartCaUserIdRequired();
    if (!IsSmartCaUserId(user)) return errors::SmartCaUserIdMalformed();
    subscriber = user;
  }

  // 4. The agency's unit code.
  std::string unit_code;
  if (*kind == SubjectKind::kAgency) {
    unit_code = absl::AsciiStrToUpper(Trim(in.unit_code));
    if (unit_code.empty()) return errors::UnitCodeRequired();
    if (absl::Status s = validators::ValidateUnitCode(unit_code, "unit_code"); !s.ok()) return s;
  }

  // 5. Consent to the information-sharing policy.
  const std::string consent = Trim(in.consent_version);
  if (consent.empty()) return errors::ConsentRequired();
  if (consent.size() > 64 || !IsPrintableAscii(consent)) {
    return st::InvalidArgument("CONSENT_VERSION_INVALID", "consent_version",
                               "Phiên bản chính sách chia sẻ thông tin không hợp lệ.",
                               "The information-sharing policy version is invalid.");
  }

  *method = m;
  cert->subject_kind = *kind;
  cert->subscriber = subscriber;
  cert->unit_code = unit_code;
  *consent_version = consent;
  return absl::OkStatus();
}

absl::Status CheckCertificateMatchesSubject(SubjectKind kind, const CertificateInfo& c) {
  switch (kind) {
    case SubjectKind::kCitizen:
      if (!c.mst.empty()) {
        return st::InvalidArgument(
            "CERTIFICATE_IS_BUSINESS", "certificate",
            "Chứng thư số này cấp cho doanh nghiệp (có mã số thuế). Vui lòng chọn đối tượng "
            "“Doanh nghiệp” hoặc dùng chứng thư số cá nhân.",
            "This certificate belongs to a business (it carries a tax code). Choose “Business” "
            "or use a personal certificate.");
      }
      if (c.cccd.empty() && c.cmnd.empty() && c.passport.empty()) {
        return st::InvalidArgument(
            "CERTIFICATE_NOT_PERSONAL", "certificate",
            "Chứng thư số không chứa số CCCD, CMND hoặc hộ chiếu của công dân. Vui lòng dùng "
            "chứng thư số cá nhân.",
            "The certificate carries no citizen ID, ID card or passport number. Please use a "
            "personal certificate.");
      }
      if (c.common_name.empty()) break;
      return absl::OkStatus();
    case SubjectKind::kBusiness:
      if (c.mst.empty()) {
        return st::InvalidArgument(
            "CERTIFICATE_NOT_BUSINESS", "certificate",
            "Chứng thư số không chứa mã số thuế của doanh nghiệp. Vui lòng dùng chứng thư số "
            "của doanh nghiệp hoặc chọn đối tượng “Công dân”.",
            "The certificate carries no business tax code (MST). Use the business's certificate "
            "or choose “Citizen”.");
      }
      if (c.organization.empty() && c.common_name.empty()) break;
      return absl::OkStatus();
    case SubjectKind::kAgency:
      if (c.cccd.empty()) {
        return st::InvalidArgument(
            "CERTIFICATE_NOT_OFFICIAL", "certificate",
            "Chứng thư số không chứa số CCCD của cán bộ, công chức. Vui lòng dùng chứng thư số "
            "cá nhân của cán bộ do Ban Cơ yếu Chính phủ cấp.",
            "The certificate carries no official's citizen ID (CCCD). Use the official's personal "
            "certificate issued by the Government Cipher Committee.");
      }
      if (!c.government_anchor) {
        return st::InvalidArgument(
            "CERTIFICATE_NOT_GOVERNMENT", "certificate",
            "Cơ quan nhà nước phải dùng chứng thư số chuyên dùng Chính phủ (do Ban Cơ yếu Chính "
            "phủ cấp).",
            "A state agency must use a government certificate (issued by the Government Cipher "
            "Committee).");
      }
      if (c.common_name.empty() || c.organization.empty()) break;
      return absl::OkStatus();
  }
  return st::InvalidArgument("CERTIFICATE_NAME_MISSING", "certificate",
                             "Chứng thư số không có tên của chủ thể.",
                             "The certificate does not name its holder.");
}

std::string MaskIdentityNumber(const std::string& number) {
  const size_t n = number.size();
  size_t head = 0, tail = 0;
  if (n >= 8) {
    head = 4;
    tail = 3;
  } else if (n >= 4) {
    head = 1;
    tail = 1;
  }
  std::string out = number;
  for (size_t i = head; i + tail < n; ++i) {
    if (out[i] != '-') out[i] = '*';
  }
  return out;
}

CertificateSummary SummarizeCertificate(const CertificateFlow& cert) {
  CertificateSummary out;
  out.unit_code = cert.unit_code;
  if (!cert.certificate) return out;
  const CertificateInfo& c = *cert.certificate;
  out.full_name = c.common_name;
  out.organization = c.organization;
  out.organizational_unit = c.organizational_unit;
  out.issuer_name = c.issuer_common_name;
  out.valid_from = c.not_before;
  out.valid_to = c.not_after;
  out.email = c.email;
  std::string number;
  switch (cert.subject_kind) {
    case SubjectKind::kCitizen:
      if (!c.cccd.empty()) {
        out.identity_type = "CCCD";
        number = c.cccd;
      } else if (!c.cmnd.empty()) {
        out.identity_type = "CMND";
        number = c.cmnd;
      } else if (!c.passport.empty()) {
        out.identity_type = "HC";
        number = c.passport;
      }
      break;
    case SubjectKind::kBusiness:
      out.identity_type = "MST";
      number = c.mst;
      break;
    case SubjectKind::kAgency:
      out.identity_type = "CCCD";
      number = c.cccd;
      break;
  }
  out.masked_identity_number = MaskIdentityNumber(number);
  return out;
}

std::vector<AccountKey> AccountKeysFor(const CertificateFlow& cert) {
  std::vector<AccountKey> keys;
  if (!cert.certificate) return keys;
  const CertificateInfo& c = *cert.certificate;
  AccountKey key;
  key.kind = cert.subject_kind;
  switch (cert.subject_kind) {
    case SubjectKind::kCitizen:
      // SUB-1: by CCCD, and by CMND too (an account may still be CMND-only).
      for (const std::string* id : {&c.cccd, &c.cmnd}) {
        if (id->empty()) continue;
        key.id_number = *id;
        keys.push_back(key);
      }
      break;
    case SubjectKind::kBusiness:
      key.mst = c.mst;
      keys.push_back(key);
      break;
    case SubjectKind::kAgency:
      key.unit_code = cert.unit_code;
      key.official_cccd = c.cccd;
      keys.push_back(key);
      break;
  }
  return keys;
}

std::string IdentityNumberOf(const CertificateFlow& cert) {
  if (!cert.certificate) return "";
  const CertificateInfo& c = *cert.certificate;
  switch (cert.subject_kind) {
    case SubjectKind::kCitizen:
      return !c.cccd.empty() ? c.cccd : !c.cmnd.empty() ? c.cmnd : c.passport;
    case SubjectKind::kBusiness:
      return c.mst;
    case SubjectKind::kAgency:
      return c.cccd;
  }
  return "";
}

CertificateCredential CredentialOf(const CertificateFlow& cert, const std::string& method) {
  CertificateCredential out;
  out.method = method;
  out.subscriber = cert.subscriber;
  if (method == kMethodSim) {
    // accounts keeps the MSISDN form (84xxxxxxxxx), as the MSSP knows the subscriber.
    if (auto msisdn = validators::ToE164(cert.subscriber, "phone"); msisdn.ok()) {
      out.subscriber = *msisdn;
    }
  }
  if (!cert.certificate) return out;
  const CertificateInfo& c = *cert.certificate;
  out.fingerprint_sha256 = c.fingerprint_sha256;
  out.issuer_cn = c.issuer_common_name;
  out.serial_hex = c.serial_hex;
  out.not_after = c.not_after;
  return out;
}

NewCertificateAccount BuildCertificateAccount(const Flow& flow, const std::string& email,
                                              const std::string& phone) {
  NewCertificateAccount a;
  a.request_id = flow.flow_id;
  a.kind = flow.cert.subject_kind;
  a.credential = CredentialOf(flow.cert, flow.method);
  a.consent_version = flow.consent_version;
  a.ial = 3;
  if (!flow.cert.certificate) return a;
  const CertificateInfo& c = *flow.cert.certificate;
  switch (a.kind) {
    case SubjectKind::kCitizen:
      a.citizen.cccd = c.cccd;
      a.citizen.cmnd = c.cmnd;
      a.citizen.passport = c.passport;
      a.citizen.full_name = c.common_name;
      a.citizen.email = email;
      a.citizen.phone = phone;
      break;
    case SubjectKind::kBusiness: {
      a.business.mst = c.mst;
      a.business.name = !c.organization.empty() ? c.organization : c.common_name;
      a.business.email = email;
      a.business.phone = phone;
      a.business.address = c.locality;
      if (!c.state.empty()) {
        a.business.address = a.business.address.empty() ? c.state
                                                         : absl::StrCat(c.locality, ", ", c.state);
      }
      a.business.representative_cccd = c.cccd;
      break;
    }
    case SubjectKind::kAgency:
      a.agency.unit_code = flow.cert.unit_code;
      a.agency.organization_name = c.organization;
      a.agency.official_cccd = c.cccd;
      a.agency.official_full_name = c.common_name;
      a.agency.email = email;
      a.agency.phone = phone;
      break;
  }
  return a;
}

status::ErrorInfo ExistingAccountNotice(SubjectKind kind) {
  status::ErrorInfo n;
  n.reason = "ACCOUNT_EXISTS";
  std::string who_vi, who_en;
  switch (kind) {
    case SubjectKind::kCitizen:
      who_vi = "Số CMT/CCCD trên chứng thư số này đã được đăng ký tài khoản.";
      who_en = "An account is already registered for the ID number on this certificate.";
      break;
    case SubjectKind::kBusiness:
      who_vi = "Mã số thuế của doanh nghiệp trên chứng thư số này đã được đăng ký tài khoản.";
      who_en = "An account is already registered for the business tax code on this certificate.";
      break;
    case SubjectKind::kAgency:
      who_vi = "Cán bộ có số CCCD trên chứng thư số này đã được đăng ký tài khoản cho cơ quan.";
      who_en = "An account is already registered for this official of the agency.";
      break;
  }
  n.message_vi = absl::StrCat(
      who_vi,
      " Bạn có thể đăng nhập tài khoản đó để thêm chứng thư số này làm phương thức xác thực, lấy "
      "lại mật khẩu bằng chức năng “Quên mật khẩu” tại màn hình đăng nhập, đến quầy giao dịch để "
      "lấy lại mật khẩu, hoặc gửi khiếu nại nếu bạn không sở hữu tài khoản này.");
  n.message_en = absl::StrCat(
      who_en,
      " You can sign in to that account to add this certificate as a way to sign in, recover the "
      "password with “Quên mật khẩu” (Forgot password) on the sign-in screen or at a service "
      "counter, or file a complaint if you do not own this account.");
  return n;
}

}  // namespace dvc::registration
