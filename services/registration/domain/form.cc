#include "services/registration/domain/form.h"

#include "absl/strings/ascii.h"
#include "absl/time/civil_time.h"
#include "libs/status/errors.h"
#include "libs/validators/cccd.h"
#include "libs/validators/date.h"
#include "libs/validators/email.h"
#include "libs/validators/name.h"
#include "libs/validators/password_policy.h"
#include "libs/validators/phone.h"
#include "services/registration/domain/errors.h"
#include "services/registration/domain/registration.h"

namespace dvc::registration {
namespace {

namespace st = dvc::status;
namespace v = dvc::validators;

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

v::Date TodayInVietnam(absl::Time now) {
  absl::CivilDay day = absl::ToCivilDay(now, absl::FixedTimeZone(7 * 3600));
  return v::Date{static_cast<int>(day.year()), day.month(), day.day()};
}

bool IsPrintableAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::string NormalizeIdNumber(const std::string& id_number) { return Trim(id_number); }

bool LooksLikeUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

absl::Status ValidateStartForm(const StartMobileInput& in, absl::Time now, Applicant* out,
                               std::string* consent_version) {
  // 1. CCCD / CMND (the username).
  const std::string id = NormalizeIdNumber(in.id_number);
  if (id.empty()) {
    return st::InvalidArgument("ID_NUMBER_REQUIRED", "id_number", "Bạn phải nhập CMT/CCCD.",
                               "Please enter your CCCD or CMND number.");
  }
  auto kind = v::ClassifyIdNumber(id, "id_number");
  if (!kind.ok()) return kind.status();
  if (*kind == v::IdNumberKind::kCccd) {
    if (absl::Status s = v::ValidateCccd(id, "id_number"); !s.ok()) return s;
  } else {
    if (absl::Status s = v::ValidateCmnd(id, "id_number"); !s.ok()) return s;
  }

  // 2. Full name.
  auto name = v::NormalizeName(in.full_name, "full_name");
  if (!name.ok()) return name.status();
  if (absl::Status s = v::ValidateFullName(*name, "full_name"); !s.ok()) return s;

  // 3. Date of birth, then the birth year a CCCD encodes against it. The mismatch is reported
  //    on date_of_birth: the CCCD alone was valid, and the two disagree only once both are in.
  const std::string dob_text = Trim(in.date_of_birth);
  if (dob_text.empty()) {
    return st::InvalidArgument("DATE_OF_BIRTH_REQUIRED", "date_of_birth",
                               "Bạn phải nhập ngày sinh.", "Please enter your date of birth.");
  }
  auto dob = v::ParseDate(dob_text, "date_of_birth");
  if (!dob.ok()) return dob.status();
  if (absl::Status s = v::ValidateBirthDate(*dob, TodayInVietnam(now), "date_of_birth");
      !s.ok()) {
    return s;
  }
  if (*kind == v::IdNumberKind::kCccd) {
    if (absl::Status s = v::CheckCccdMatchesBirthDate(id, *dob, "date_of_birth"); !s.ok()) {
      return s;
    }
  }

  // 4. Phone (the subscriber to check and the OTP phone).
  const std::string phone_text = Trim(in.phone);
  if (phone_text.empty()) {
    return st::InvalidArgument("PHONE_REQUIRED", "phone", "Bạn phải nhập số điện thoại.",
                               "Please enter your mobile phone number.");
  }
  auto phone = v::NormalizePhone(phone_text, "phone");
  if (!phone.ok()) return phone.status();

  // 5. Email (optional).
  std::string email = Trim(in.email);
  if (!email.empty()) {
    auto normalized = v::NormalizeEmail(email, "email");
    if (!normalized.ok()) return normalized.status();
    email = *normalized;
  }

  // 6. Consent to the information-sharing policy: its version is recorded.
  const std::string consent = Trim(in.consent_version);
  if (consent.empty()) return errors::ConsentRequired();
  if (consent.size() > 64 || !IsPrintableAscii(consent)) {
    return st::InvalidArgument("CONSENT_VERSION_INVALID", "consent_version",
                               "Phiên bản chính sách chia sẻ thông tin không hợp lệ.",
                               "The information-sharing policy version is invalid.");
  }

  out->id_number = id;
  out->full_name = *name;
  out->date_of_birth = v::FormatDate(*dob);
  out->phone = *phone;
  out->email = email;
  *consent_version = consent;
  return absl::OkStatus();
}

absl::Status ValidateNewPassword(const std::string& password, const std::string& confirmation,
                                 const Applicant& who) {
  v::PasswordContext ctx;
  ctx.id_number = who.id_number;
  ctx.phone = who.phone;
  return v::ValidatePassword(password, confirmation, ctx);
}

}  // namespace dvc::registration
