#include "services/accounts/domain/accounts.h"

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/crypto/random.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "libs/validators/cccd.h"
#include "libs/validators/date.h"
#include "libs/validators/email.h"
#include "libs/validators/mst.h"
#include "libs/validators/name.h"
#include "libs/validators/phone.h"

namespace dvc::accounts {
namespace {

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

absl::Status AccountNotFound() {
  return status::NotFound("ACCOUNT_NOT_FOUND", "account_id", "Không tìm thấy tài khoản.",
                          "Account not found.");
}

std::string Field(absl::string_view prefix, absl::string_view name) {
  return prefix.empty() ? std::string(name) : absl::StrCat(prefix, ".", name);
}

absl::Status RequestIdRequired() {
  return status::InvalidArgument("REQUEST_ID_REQUIRED", "request_id", "Thiếu mã yêu cầu.",
                                 "request_id is required (≤ 128 chars).");
}

// Number of UTF-8 code points (the input is valid UTF-8: NormalizeName checked it).
size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool HasControl(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  }
  return false;
}

// Free text (business/organisation names, addresses): NFC, whitespace collapsed, no control
// characters, at most `max_chars` code points. `required_reason` when empty ("" = optional).
absl::Status NormalizeText(std::string* v, const std::string& field, size_t max_chars,
                           absl::string_view required_reason, absl::string_view what_vi,
                           absl::string_view what_en) {
  auto n = validators::NormalizeName(*v, field);
  if (!n.ok()) return n.status();
  *v = *n;
  if (v->empty()) {
    if (required_reason.empty()) return absl::OkStatus();
    return status::InvalidArgument(required_reason, field, absl::StrCat("Vui lòng nhập ", what_vi, "."),
                                   absl::StrCat("The ", what_en, " is required."));
  }
  if (CodePoints(*v) > max_chars || HasControl(*v)) {
    return status::InvalidArgument(
        "TEXT_INVALID", field,
        absl::StrCat(what_vi, " không hợp lệ (tối đa ", max_chars, " ký tự)."),
        absl::StrCat("The ", what_en, " is not valid (at most ", max_chars, " characters)."));
  }
  return absl::OkStatus();
}

absl::Status NormalizeOptionalPhone(std::string* phone, const std::string& field) {
  if (phone->empty()) return absl::OkStatus();
  auto p = validators::NormalizePhone(*phone, field);
  if (!p.ok()) return p.status();
  *phone = *p;
  return absl::OkStatus();
}

absl::Status NormalizeOptionalEmail(std::string* email, const std::string& field) {
  if (email->empty()) return absl::OkStatus();
  auto e = validators::NormalizeEmail(*email, field);
  if (!e.ok()) return e.status();
  *email = *e;
  return absl::OkStatus();
}

// Passport numbers: 6..20 letters and digits, stored upper-case.
absl::Status NormalizePassport(std::string* p, const std::string& field) {
  std::string up = absl::AsciiStrToUpper(*p);
  bool ok = up.size() >= 6 && up.size() <= 20;
  for (char c : up) ok = ok && absl::ascii_isalnum(static_cast<unsigned char>(c));
  if (!ok) {
    return status::InvalidArgument("PASSPORT_MALFORMED", field,
                                   "Số hộ chiếu gồm 6 đến 20 chữ cái hoặc chữ số.",
                                   "A passport number has 6 to 20 letters or digits.");
  }
  *p = std::move(up);
  return absl::OkStatus();
}

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status ValidateCccdRequired(const std::string& cccd, const std::string& field) {
  if (cccd.empty()) {
    return status::InvalidArgument("CCCD_REQUIRED", field, "Vui lòng nhập số CCCD.",
                                   "A CCCD number is required.");
  }
  return validators::ValidateCccd(cccd, field);
}

absl::Status ValidateMstRequired(const std::string& mst, const std::string& field) {
  if (mst.empty()) {
    return status::InvalidArgument("MST_REQUIRED", field, "Vui lòng nhập mã số thuế.",
                                   "A tax code (MST) is required.");
  }
  return validators::ValidateMst(mst, field);
}

absl::Status ValidateUnitCodeRequired(const std::string& code, const std::string& field) {
  if (code.empty()) {
    return status::InvalidArgument("UNIT_CODE_REQUIRED", field,
                                   "Vui lòng nhập mã định danh cơ quan.",
                                   "The agency unit code is required.");
  }
  return validators::ValidateUnitCode(code, field);
}

absl::Status ValidateBusiness(BusinessIdentity* b) {
  if (auto s = ValidateMstRequired(b->mst, "business.mst"); !s.ok()) return s;
  if (auto s = NormalizeText(&b->name, "business.name", 255, "NAME_REQUIRED",
                             "tên doanh nghiệp", "business name");
      !s.ok()) {
    return s;
  }
  if (b->email.empty()) {
    return status::InvalidArgument("EMAIL_REQUIRED", "business.email",
                                   "Vui lòng nhập thư điện tử của doanh nghiệp.",
                                   "The business e-mail address is required.");
  }
  if (auto s = NormalizeOptionalEmail(&b->email, "business.email"); !s.ok()) return s;
  if (auto s = NormalizeOptionalPhone(&b->phone, "business.phone"); !s.ok()) return s;
  if (auto s = NormalizeText(&b->address, "business.address", 500, "", "địa chỉ", "address");
      !s.ok()) {
    return s;
  }
  if (!b->representative_cccd.empty()) {
    if (auto s = validators::ValidateCccd(b->representative_cccd, "business.representative_cccd");
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAgency(AgencyIdentity* a) {
  if (auto s = ValidateUnitCodeRequired(a->unit_code, "agency.unit_code"); !s.ok()) return s;
  if (auto s = NormalizeText(&a->organization_name, "agency.organization_name", 255,
                             "NAME_REQUIRED", "tên cơ quan", "organisation name");
      !s.ok()) {
    return s;
  }
  if (auto s = ValidateCccdRequired(a->official_cccd, "agency.official_cccd"); !s.ok()) return s;
  auto name = validators::NormalizeName(a->official_full_name, "agency.official_full_name");
  if (!name.ok()) return name.status();
  a->official_full_name = *name;
  if (auto s = validators::ValidateFullName(a->official_full_name, "agency.official_full_name");
      !s.ok()) {
    return s;
  }
  if (auto s = NormalizeOptionalEmail(&a->email, "agency.email"); !s.ok()) return s;
  return NormalizeOptionalPhone(&a->phone, "agency.phone");
}

// Citizen identity. Password registrations (`certificate` false) need CCCD or CMND, a birth
// date and a phone; certificate registrations need CCCD, CMND or a passport number and a name
// (certificates carry no birth date or phone).
absl::Status ValidateCitizen(CitizenIdentity* id, absl::string_view prefix, bool certificate) {
  if (id->cccd.empty() && id->cmnd.empty() && (!certificate || id->passport.empty())) {
    return certificate ? status::InvalidArgument(
                             "ID_NUMBER_REQUIRED", Field(prefix, "cccd"),
                             "Cần số CCCD, CMND hoặc hộ chiếu.",
                             "A CCCD, CMND or passport number is required.")
                       : status::InvalidArgument("ID_NUMBER_REQUIRED", Field(prefix, "cccd"),
                                                 "Cần số CCCD hoặc CMND.",
                                                 "A CCCD or CMND number is required.");
  }
  if (!id->cccd.empty()) {
    if (auto s = validators::ValidateCccd(id->cccd, Field(prefix, "cccd")); !s.ok()) return s;
  }
  if (!id->cmnd.empty()) {
    if (auto s = validators::ValidateCmnd(id->cmnd, Field(prefix, "cmnd")); !s.ok()) return s;
  }
  if (!id->passport.empty()) {
    if (auto s = NormalizePassport(&id->passport, Field(prefix, "passport")); !s.ok()) return s;
  }
  auto name = validators::NormalizeName(id->full_name, Field(prefix, "full_name"));
  if (!name.ok()) return name.status();
  id->full_name = *name;
  if (auto s = validators::ValidateFullName(id->full_name, Field(prefix, "full_name")); !s.ok()) {
    return s;
  }
  if (!certificate || !id->date_of_birth.empty()) {
    auto dob = validators::ParseDate(id->date_of_birth, Field(prefix, "date_of_birth"));
    if (!dob.ok()) return dob.status();
    if (!id->cccd.empty()) {
      if (auto s = validators::CheckCccdMatchesBirthDate(id->cccd, *dob,
                                                         Field(prefix, "date_of_birth"));
          !s.ok()) {
        return s;
      }
    }
  }
  if (!certificate || !id->phone.empty()) {
    auto phone = validators::NormalizePhone(id->phone, Field(prefix, "phone"));
    if (!phone.ok()) return phone.status();
    id->phone = *phone;
  }
  if (auto s = NormalizeOptionalEmail(&id->email, Field(prefix, "email")); !s.ok()) return s;
  if (id->gender != "" && id->gender != "MALE" && id->gender != "FEMALE") {
    return status::InvalidArgument("GENDER_INVALID", Field(prefix, "gender"),
                                   "Giới tính không hợp lệ.", "Gender must be MALE or FEMALE.");
  }
  return absl::OkStatus();
}

const char* KindName(SubjectKind k) {
  switch (k) {
    case SubjectKind::kCitizen: return "CITIZEN";
    case SubjectKind::kBusiness: return "BUSINESS";
    case SubjectKind::kAgency: return "AGENCY";
  }
  return "UNKNOWN";
}

absl::Status ValidateFingerprint(std::string* fp, const std::string& field) {
  if (fp->size() != 64 || !IsHex(*fp)) {
    return status::InvalidArgument(
        "CERTIFICATE_FINGERPRINT_MALFORMED", field,
        "Dấu vân tay chứng thư số phải là SHA-256 dạng hex (64 ký tự).",
        "The certificate fingerprint must be a hex SHA-256 (64 characters).");
  }
  *fp = absl::AsciiStrToLower(*fp);
  return absl::OkStatus();
}

}  // namespace

AccountsDomain::AccountsDomain(AccountStore* store, crypto::Random* random,
                               crypto::Argon2Params params, int hash_concurrency, Clock* clock)
    : store_(store),
      random_(random),
      hasher_(params, hash_concurrency),
      clock_(clock != nullptr ? clock : &system_clock_) {
  // A real Argon2id hash of a random secret: verifying against it costs what a real
  // verification costs, so unknown identifiers are not faster to reject.
  auto h = hasher_.Hash(crypto::RandomToken(*random_, 24), *random_);
  dummy_hash_ = h.ok() ? *h : "";
}


absl::Status AccountsDomain::ValidateIdentity(CitizenIdentity* id) const {
  return ValidateCitizen(id, "identity", /*certificate=*/false);
}

absl::Status AccountsDomain::ValidateCertificate(CertificateCredential* c,
                                                 const std::string& field) const {
  if (c->fingerprint_sha256.empty()) {
    return status::InvalidArgument("CERTIFICATE_REQUIRED", field, "Thiếu chứng thư số.",
                                   "The certificate is required.");
  }
  if (auto s = ValidateFingerprint(&c->fingerprint_sha256, field + ".fingerprint_sha256");
      !s.ok()) {
    return s;
  }
  if (c->method != kMethodUsb && c->method != kMethodSim && c->method != kMethodSmartCa) {
    return status::InvalidArgument("CERTIFICATE_METHOD_INVALID", field + ".method",
                                   "Hình thức chữ ký số phải là USB, SIM hoặc SMARTCA.",
                                   "The signature method must be USB, SIM or SMARTCA.");
  }
  if (c->issuer_cn.empty() || c->issuer_cn.size() > 512 || HasControl(c->issuer_cn) ||
      !validators::NormalizeName(c->issuer_cn).ok()) {
    return status::InvalidArgument("CERTIFICATE_ISSUER_INVALID", field + ".issuer_cn",
                                   "Thiếu hoặc sai tên tổ chức cấp chứng thư số.",
                                   "The certificate issuer name is missing or invalid.");
  }
  if (c->serial_hex.empty() || c->serial_hex.size() > 64 || !IsHex(c->serial_hex)) {
    return status::InvalidArgument("CERTIFICATE_SERIAL_MALFORMED", field + ".serial_hex",
                                   "Số hiệu chứng thư số phải ở dạng hex.",
                                   "The certificate serial number must be hex.");
  }
  c->serial_hex = absl::AsciiStrToLower(c->serial_hex);
  if (c->not_after == absl::InfinitePast() || c->not_after == absl::UnixEpoch()) {
    return status::InvalidArgument("CERTIFICATE_NOT_AFTER_REQUIRED", field + ".not_after",
                                   "Thiếu thời hạn của chứng thư số.",
                                   "The certificate's expiry (not_after) is required.");
  }
  if (c->not_after <= clock_->Now()) {
    return status::InvalidArgument("CERT_EXPIRED", field + ".not_after",
                                   "Chứng thư số đã hết hạn.", "The certificate has expired.");
  }
  if (c->method == kMethodSim) {
    if (!c->subscriber.empty()) {
      auto msisdn = validators::ToE164(c->subscriber, field + ".subscriber");
      if (!msisdn.ok()) return msisdn.status();
      c->subscriber = *msisdn;
    }
  } else if (c->method == kMethodSmartCa) {
    if (c->subscriber.size() > 128 || HasControl(c->subscriber) ||
        !validators::NormalizeName(c->subscriber).ok()) {
      return status::InvalidArgument("CERTIFICATE_SUBSCRIBER_INVALID", field + ".subscriber",
                                     "Mã người dùng SmartCA không hợp lệ.",
                                     "The SmartCA user id is not valid.");
    }
  } else if (!c->subscriber.empty()) {
    return status::InvalidArgument("CERTIFICATE_SUBSCRIBER_INVALID", field + ".subscriber",
                                   "Chữ ký số USB không có thuê bao.",
                                   "A USB certificate has no subscriber.");
  }
  c->created_at = absl::InfinitePast();
  return absl::OkStatus();
}

absl::StatusOr<Account> AccountsDomain::CreateCitizen(NewCitizen c) {
  if (c.request_id.empty() || c.request_id.size() > 128) return RequestIdRequired();
  if (auto s = ValidateIdentity(&c.identity); !s.ok()) return s;
  if (c.ial < 1 || c.ial > 3) {
    return status::InvalidArgument("IAL_INVALID", "ial", "Mức xác minh không hợp lệ.",
                                   "ial must be 1, 2 or 3.");
  }
  if (c.verification_source.empty() || c.registration_method.empty()) {
    return status::InvalidArgument("SOURCE_REQUIRED", "verification_source",
                                   "Thiếu nguồn xác minh.",
                                   "verification_source and registration_method are required.");
  }
  if (c.password.empty()) {
    return status::InvalidArgument("PASSWORD_REQUIRED", "password", "Vui lòng nhập mật khẩu.",
                                   "A password is required.");
  }
  auto hash = hasher_.Hash(c.password, *random_);
  if (!hash.ok()) return hash.status();
  auto a = store_->CreateCitizen(c, crypto::NewUuidV4(*random_), *hash);
  if (a.ok()) {
    log::Info("account.created", {{"account_id", a->account_id},
                                  {"method", c.registration_method},
                                  {"ial", std::to_string(c.ial)}});
  }
  return a;
}

absl::StatusOr<Account> AccountsDomain::Get(const std::string& account_id) {
  if (!IsUuid(account_id)) return AccountNotFound();
  auto a = store_->Get(account_id);
  if (!a.ok()) return a.status();
  if (!a->has_value()) return AccountNotFound();
  return **a;
}

absl::StatusOr<Account> AccountsDomain::Find(const std::string& id_number) {
  auto kind = validators::ClassifyIdNumber(id_number, "id_number");
  if (!kind.ok()) return kind.status();
  auto a = store_->FindByIdNumber(id_number);
  if (!a.ok()) return a.status();
  if (!a->has_value()) {
    return status::NotFound("ACCOUNT_NOT_FOUND", "id_number", "Không tìm thấy tài khoản.",
                            "Account not found.");
  }
  return **a;
}

absl::StatusOr<std::optional<std::string>> AccountsDomain::LookupAccountId(
    const std::string& id_number) {
  auto kind = validators::ClassifyIdNumber(id_number, "id_number");
  if (!kind.ok()) return kind.status();
  return store_->FindAccountId(id_number);
}

absl::StatusOr<std::optional<std::string>> AccountsDomain::LookupAccountId(
    const AccountKey& key) {
  const bool agency = !key.unit_code.empty() || !key.official_cccd.empty();
  const int kinds = !key.id_number.empty() + !key.mst.empty() + agency;
  if (kinds > 1) {
    return status::InvalidArgument(
        "LOOKUP_KEY_AMBIGUOUS", key.id_number.empty() ? "mst" : "id_number",
        "Chỉ tra cứu theo một loại mã: số định danh, mã số thuế, hoặc mã đơn vị và CCCD.",
        "Look up by one kind of key only: ID number, tax code, or unit code and CCCD.");
  }
  if (!key.mst.empty()) {
    if (auto s = validators::ValidateMst(key.mst, "mst"); !s.ok()) return s;
    return store_->FindAccountIdByMst(key.mst);
  }
  if (agency) {
    if (auto s = ValidateUnitCodeRequired(key.unit_code, "unit_code"); !s.ok()) return s;
    if (auto s = ValidateCccdRequired(key.official_cccd, "official_cccd"); !s.ok()) return s;
    return store_->FindAccountIdByAgency(key.unit_code, key.official_cccd);
  }
  return LookupAccountId(key.id_number);
}

absl::StatusOr<Account> AccountsDomain::CreateCertificateAccount(NewCertificateAccount c) {
  if (c.request_id.empty() || c.request_id.size() > 128) return RequestIdRequired();
  absl::Status s;
  switch (c.subject_kind) {
    case SubjectKind::kCitizen:
      s = ValidateCitizen(&c.citizen, "citizen", /*certificate=*/true);
      c.business = {};
      c.agency = {};
      break;
    case SubjectKind::kBusiness:
      s = ValidateBusiness(&c.business);
      c.citizen = {};
      c.agency = {};
      break;
    case SubjectKind::kAgency:
      s = ValidateAgency(&c.agency);
      c.citizen = {};
      c.business = {};
      break;
    default:
      s = status::InvalidArgument("SUBJECT_KIND_INVALID", "subject_kind",
                                  "Loại chủ thể phải là công dân, doanh nghiệp hoặc cơ quan.",
                                  "subject_kind must be CITIZEN, BUSINESS or AGENCY.");
  }
  if (!s.ok()) return s;
  if (s = ValidateCertificate(&c.certificate, "certificate"); !s.ok()) return s;
  auto a = store_->CreateCertificateAccount(c, crypto::NewUuidV4(*random_));
  if (a.ok()) {
    log::Info("account.created", {{"account_id", a->account_id},
                                  {"subject_kind", KindName(c.subject_kind)},
                                  {"method", c.certificate.method},
                                  {"ial", "3"}});
  }
  return a;
}

absl::StatusOr<Account> AccountsDomain::AddCertificate(NewCertificate c) {
  if (c.request_id.empty() || c.request_id.size() > 128) return RequestIdRequired();
  if (auto s = ValidateCertificate(&c.certificate, "certificate"); !s.ok()) return s;
  if (c.identity_number.empty()) {
    return status::InvalidArgument("IDENTITY_NUMBER_REQUIRED", "identity_number",
                                   "Thiếu số định danh ghi trên chứng thư số.",
                                   "The identity number the certificate carries is required.");
  }
  auto a = Get(c.account_id);
  if (!a.ok()) return a.status();
  // Defence in depth: the caller compared identities already; a certificate is bound only to
  // the account of the person, business or official it names.
  bool match = false;
  switch (a->subject_kind) {
    case SubjectKind::kCitizen: {
      const CitizenIdentity& id = a->citizen;
      match = (!id.cccd.empty() && c.identity_number == id.cccd) ||
              (!id.cmnd.empty() && c.identity_number == id.cmnd) ||
              (!id.passport.empty() && absl::AsciiStrToUpper(c.identity_number) == id.passport);
      break;
    }
    case SubjectKind::kBusiness:
      match = c.identity_number == a->business.mst;
      break;
    case SubjectKind::kAgency:
      match = c.identity_number == a->agency.official_cccd;
      break;
  }
  if (!match) {
    return status::FailedPrecondition(
        "CERTIFICATE_IDENTITY_MISMATCH", "identity_number",
        "Chứng thư số không mang thông tin định danh của chủ tài khoản.",
        "The certificate does not carry the account holder's identity.");
  }
  auto out = store_->AddCertificate(c);
  if (out.ok()) {
    log::Info("account.certificate_added", {{"account_id", out->account_id},
                                            {"method", c.certificate.method},
                                            {"ial", std::to_string(out->ial)}});
  }
  return out;
}

absl::StatusOr<std::optional<CertificateOwner>> AccountsDomain::FindByCertificate(
    const std::string& fingerprint_sha256) {
  std::string fp = fingerprint_sha256;
  if (auto s = ValidateFingerprint(&fp, "fingerprint_sha256"); !s.ok()) return s;
  return store_->FindByCertificate(fp);
}

absl::StatusOr<std::vector<CertificateCredential>> AccountsDomain::ListCertificates(
    const std::string& account_id) {
  if (!IsUuid(account_id)) return AccountNotFound();
  auto list = store_->ListCertificates(account_id);
  if (!list.ok()) return list.status();
  if (!list->has_value()) return AccountNotFound();
  return std::move(**list);
}

absl::Status AccountsDomain::SetPassword(const std::string& account_id,
                                         const std::string& password) {
  if (password.empty()) {
    return status::InvalidArgument("PASSWORD_REQUIRED", "password", "Vui lòng nhập mật khẩu.",
                                   "A password is required.");
  }
  auto a = Get(account_id);
  if (!a.ok()) return a.status();
  auto hash = hasher_.Hash(password, *random_);
  if (!hash.ok()) return hash.status();
  return store_->SetPasswordHash(account_id, *hash, a->has_password ? "CHANGED" : "SET");
}

absl::StatusOr<PasswordCheck> AccountsDomain::VerifyPassword(const std::string& id_number,
                                                             const std::string& password) {
  PasswordCheck out;
  std::optional<AccountStore::Credential> cred;
  if (validators::ClassifyIdNumber(id_number, "id_number").ok()) {
    auto c = store_->FindCredential(id_number);
    if (!c.ok()) return c.status();
    cred = *c;
  }
  // One Argon2id verification whatever happens: against the real hash, or the dummy one.
  auto ok = hasher_.Verify(password, cred.has_value() ? cred->password_hash : dummy_hash_);
  if (!ok.ok()) return ok.status();
  if (!*ok || !cred.has_value()) return out;  // valid=false, whatever the reason
  auto phone = store_->OpenPhone(*cred);
  if (!phone.ok()) return phone.status();
  out.valid = true;
  out.account_id = cred->account_id;
  out.ial = cred->ial;
  out.status = cred->status;
  out.phone = *phone;
  if (hasher_.NeedsRehash(cred->password_hash)) {
    auto fresh = hasher_.Hash(password, *random_);
    if (fresh.ok()) {
      absl::Status s = store_->SetPasswordHash(cred->account_id, *fresh, "REHASHED",
                                               cred->password_hash);
      if (!s.ok()) log::Warn("password.rehash_failed", {{"account_id", cred->account_id}});
    }
  }
  return out;
}

}  // namespace dvc::accounts
