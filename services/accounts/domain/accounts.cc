#include "services/accounts/domain/accounts.h"

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "libs/crypto/random.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "libs/validators/cccd.h"
#include "libs/validators/date.h"
#include "libs/validators/email.h"
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

}  // namespace

AccountsDomain::AccountsDomain(AccountStore* store, crypto::Random* random,
                               crypto::Argon2Params params, int hash_concurrency)
    : store_(store),
      random_(random),
      params_(params),
      hash_slots_(hash_concurrency > 0
                      ? hash_concurrency
                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))) {
  // A real Argon2id hash of a random secret: verifying against it costs what a real
  // verification costs, so unknown identifiers are not faster to reject.
  auto h = crypto::HashPassword(crypto::RandomToken(*random_, 24), params_, *random_);
  dummy_hash_ = h.ok() ? *h : "";
}

absl::StatusOr<std::string> AccountsDomain::Hash(const std::string& password) {
  {
    absl::MutexLock l(&hash_mu_);
    hash_mu_.Await(absl::Condition(+[](int* n) { return *n > 0; }, &hash_slots_));
    --hash_slots_;
  }
  auto h = crypto::HashPassword(password, params_, *random_);
  absl::MutexLock l(&hash_mu_);
  ++hash_slots_;
  return h;
}

absl::StatusOr<bool> AccountsDomain::Verify(const std::string& password, const std::string& phc) {
  {
    absl::MutexLock l(&hash_mu_);
    hash_mu_.Await(absl::Condition(+[](int* n) { return *n > 0; }, &hash_slots_));
    --hash_slots_;
  }
  auto ok = crypto::VerifyPassword(password, phc);
  absl::MutexLock l(&hash_mu_);
  ++hash_slots_;
  return ok;
}

absl::Status AccountsDomain::ValidateIdentity(CitizenIdentity* id) const {
  if (id->cccd.empty() && id->cmnd.empty()) {
    return status::InvalidArgument("ID_NUMBER_REQUIRED", "identity.cccd",
                                   "Cần số CCCD hoặc CMND.", "A CCCD or CMND number is required.");
  }
  if (!id->cccd.empty()) {
    if (auto s = validators::ValidateCccd(id->cccd, "identity.cccd"); !s.ok()) return s;
  }
  if (!id->cmnd.empty()) {
    if (auto s = validators::ValidateCmnd(id->cmnd, "identity.cmnd"); !s.ok()) return s;
  }
  auto name = validators::NormalizeName(id->full_name, "identity.full_name");
  if (!name.ok()) return name.status();
  id->full_name = *name;
  if (auto s = validators::ValidateFullName(id->full_name, "identity.full_name"); !s.ok()) {
    return s;
  }
  auto dob = validators::ParseDate(id->date_of_birth, "identity.date_of_birth");
  if (!dob.ok()) return dob.status();
  if (!id->cccd.empty()) {
    if (auto s = validators::CheckCccdMatchesBirthDate(id->cccd, *dob, "identity.date_of_birth");
        !s.ok()) {
      return s;
    }
  }
  auto phone = validators::NormalizePhone(id->phone, "identity.phone");
  if (!phone.ok()) return phone.status();
  id->phone = *phone;
  if (!id->email.empty()) {
    auto email = validators::NormalizeEmail(id->email, "identity.email");
    if (!email.ok()) return email.status();
    id->email = *email;
  }
  if (id->gender != "" && id->gender != "MALE" && id->gender != "FEMALE") {
    return status::InvalidArgument("GENDER_INVALID", "identity.gender", "Giới tính không hợp lệ.",
                                   "Gender must be MALE or FEMALE.");
  }
  return absl::OkStatus();
}

absl::StatusOr<Account> AccountsDomain::CreateCitizen(NewCitizen c) {
  if (c.request_id.empty() || c.request_id.size() > 128) {
    return status::InvalidArgument("REQUEST_ID_REQUIRED", "request_id",
                                   "Thiếu mã yêu cầu.", "request_id is required (≤ 128 chars).");
  }
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
  auto hash = Hash(c.password);
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

absl::Status AccountsDomain::SetPassword(const std::string& account_id,
                                         const std::string& password) {
  if (password.empty()) {
    return status::InvalidArgument("PASSWORD_REQUIRED", "password", "Vui lòng nhập mật khẩu.",
                                   "A password is required.");
  }
  auto a = Get(account_id);
  if (!a.ok()) return a.status();
  auto hash = Hash(password);
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
  auto ok = Verify(password, cred.has_value() ? cred->password_hash : dummy_hash_);
  if (!ok.ok()) return ok.status();
  if (!*ok || !cred.has_value()) return out;  // valid=false, whatever the reason
  auto phone = store_->OpenPhone(*cred);
  if (!phone.ok()) return phone.status();
  out.valid = true;
  out.account_id = cred->account_id;
  out.ial = cred->ial;
  out.status = cred->status;
  out.phone = *phone;
  if (crypto::NeedsRehash(cred->password_hash, params_)) {
    auto fresh = Hash(password);
    if (fresh.ok()) {
      absl::Status s = store_->SetPasswordHash(cred->account_id, *fresh, "REHASHED",
                                               cred->password_hash);
      if (!s.ok()) log::Warn("password.rehash_failed", {{"account_id", cred->account_id}});
    }
  }
  return out;
}

}  // namespace dvc::accounts
