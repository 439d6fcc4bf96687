#include "services/accounts/adapters/pg_account_store.h"

#include "absl/strings/str_cat.h"
#include "libs/logging/log.h"
#include "libs/crypto/hmac.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/pool.h"
#include "libs/status/errors.h"
#include "protos/dvc/events/v1/account_events.pb.h"

namespace dvc::accounts {
namespace {

namespace ev = ::dvc::events::v1;

// The duplicate-account guidance (seed): what is already registered, how to get back in, and
// where to go when the user did not register it. One reason per subject kind; metadata
// subject_kind says which.
absl::Status DuplicateAccount(SubjectKind kind, const std::string& field = "id_number") {
  const char* reason = "ACCOUNT_EXISTS";
  const char* what_vi = "Số định danh này";
  const char* what_en = "this ID number";
  const char* kind_name = "CITIZEN";
  if (kind == SubjectKind::kBusiness) {
    reason = "BUSINESS_ACCOUNT_EXISTS";
    what_vi = "Mã số thuế này";
    what_en = "this tax code (MST)";
    kind_name = "BUSINESS";
  } else if (kind == SubjectKind::kAgency) {
    reason = "AGENCY_ACCOUNT_EXISTS";
    what_vi = "Mã định danh cơ quan và số CCCD này";
    what_en = "this agency unit code and CCCD number";
    kind_name = "AGENCY";
  }
  absl::Status s = status::AlreadyExists(
      reason, field,
      absl::StrCat(what_vi,
                   " đã được đăng ký tài khoản. Nếu quên mật khẩu, vui lòng chọn \"Quên mật "
                   "khẩu\"; nếu không phải bạn đăng ký, vui lòng đến quầy dịch vụ công hoặc gửi "
                   "phản ánh, kiến nghị."),
      absl::StrCat("An account already exists for ", what_en,
                   ". If you forgot the password, use \"Forgot password\"; if you did not "
                   "register it, visit a public-service counter or file a complaint."));
  return status::WithMetadata(s, "subject_kind", kind_name);
}

absl::Status AccountExists() { return DuplicateAccount(SubjectKind::kCitizen); }

absl::Status CertificateAlreadyRegistered() {
  return status::AlreadyExists(
      "CERTIFICATE_ALREADY_REGISTERED", "certificate",
      "Chứng thư số này đã được đăng ký cho một tài khoản khác. Vui lòng đăng nhập bằng chứng "
      "thư số này; nếu không phải bạn đăng ký, vui lòng đến quầy dịch vụ công hoặc gửi phản ánh, "
      "kiến nghị.",
      "This certificate is already registered to an account. Sign in with it; if you did not "
      "register it, visit a public-service counter or file a complaint.");
}

absl::Status AccountNotFound() {
  return status::NotFound("ACCOUNT_NOT_FOUND", "account_id", "Không tìm thấy tài khoản.",
                          "Account not found.");
}

absl::Status AccountNotActive() {
  return status::FailedPrecondition("ACCOUNT_NOT_ACTIVE", "account_id",
                                    "Tài khoản đang bị khóa hoặc đã đóng.",
                                    "The account is locked or closed.");
}

absl::Status RequestIdReused() {
  return status::InvalidArgument("REQUEST_ID_REUSED", "request_id",
                                 "Mã yêu cầu đã được dùng cho một yêu cầu khác.",
                                 "This request id was already used for a different request.");
}

const char* EventType(const ev::AccountEvent& e) {
  switch (e.kind_case()) {
    case ev::AccountEvent::kAccountCreated: return "AccountCreated";
    case ev::AccountEvent::kCredentialChanged: return "CredentialChanged";
    case ev::AccountEvent::kAssuranceLevelChanged: return "AssuranceLevelChanged";
    default: return "Unknown";
  }
}

ev::SubjectKind EventKind(SubjectKind k) {
  switch (k) {
    case SubjectKind::kCitizen: return ev::SUBJECT_KIND_CITIZEN;
    case SubjectKind::kBusiness: return ev::SUBJECT_KIND_BUSINESS;
    case SubjectKind::kAgency: return ev::SUBJECT_KIND_AGENCY;
  }
  return ev::SUBJECT_KIND_UNSPECIFIED;
}

const char* KindName(SubjectKind k) {
  switch (k) {
    case SubjectKind::kCitizen: return "CITIZEN";
    case SubjectKind::kBusiness: return "BUSINESS";
    case SubjectKind::kAgency: return "AGENCY";
  }
  return "UNKNOWN";
}

// Internal between a store method and its one retry (never returned to callers): a unique
// violation showed that a concurrent request committed first; running again sees its rows.
constexpr char kRetrySignal[] = "accounts.retry_after_unique_violation";
absl::Status RetrySignal() { return absl::AbortedError(kRetrySignal); }
bool IsRetrySignal(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAborted && s.message() == kRetrySignal;
}

int64_t Seconds(absl::Time t) { return absl::ToUnixSeconds(t); }

// Serialises one AccountEvent into the outbox, keyed by account id.
absl::Status Emit(pqxx::work& tx, crypto::Random& random, const std::string& account_id,
                  const std::function<void(ev::AccountEvent*)>& fill) {
  ev::AccountEvent e;
  e.set_event_id(crypto::NewUuidV4(random));
  e.set_account_id(account_id);
  int64_t now_us = absl::ToUnixMicros(absl::Now());
  e.mutable_occurred_at()->set_seconds(now_us / 1000000);
  e.mutable_occurred_at()->set_nanos(static_cast<int32_t>((now_us % 1000000) * 1000));
  fill(&e);
  kafka::OutboxEvent out;
  out.event_id = e.event_id();
  out.topic = kAccountsTopic;
  out.key = account_id;
  out.payload = e.SerializeAsString();
  out.headers = {{"event_type", EventType(e)}};
  return kafka::EnqueueEvent(tx, out);
}

void Audit(pqxx::work& tx, const std::string& account_id, const std::string& event,
           const std::string& detail) {
  pg::ExecPrepared(tx, "INSERT INTO audit_events (account_id, event, detail) VALUES ($1, $2, $3)",
                 account_id, event, detail);
}

}  // namespace

PgAccountStore::PgAccountStore(pg::Pool* pool, const crypto::FieldCipher* cipher,
                               std::string index_key, crypto::Random* random)
    : pool_(pool), cipher_(cipher), index_key_(std::move(index_key)), random_(random) {}

std::string PgAccountStore::Index(const std::string& kind, const std::string& value) const {
  return crypto::BlindIndex(index_key_, absl::StrCat(kind, ":", value));
}

absl::StatusOr<Account> PgAccountStore::CreateCitizen(const NewCitizen& c,
                                                      const std::string& account_id,
                                                      const std::string& password_hash) {
  std::optional<Account> created;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    created.reset();
    // Idempotent retry: the same request id returns the account it created.
    pqxx::result prior = pg::ExecPrepared(tx, 
        "SELECT account_id::text FROM accounts WHERE create_request_id = $1", c.request_id);
    if (!prior.empty()) {
      auto a = Load(tx, "a.account_id = $1::uuid", prior[0][0].c_str());
      if (!a.ok()) return a.status();
      created = **a;
      return absl::OkStatus();
    }
    pg::ExecPrepared(tx, 
        "INSERT INTO accounts (account_id, subject_kind, ial, status, verification_source, "
        "registration_method, create_request_id) VALUES ($1::uuid, 1, $2, 1, $3, $4, $5)",
        account_id, c.ial, c.verification_source, c.registration_method, c.request_id);
    if (auto st = InsertCitizen(tx, account_id, c.identity); !st.ok()) return st;
    pg::ExecPrepared(tx, 
        "INSERT INTO credentials (account_id, type, secret_hash) VALUES ($1::uuid, 'PASSWORD', $2)",
        account_id, password_hash);
    if (!c.consent_version.empty()) {
      pg::ExecPrepared(tx, "INSERT INTO consents (account_id, version) VALUES ($1::uuid, $2)",
                     account_id, c.consent_version);
    }
    Audit(tx, account_id, "ACCOUNT_CREATED",
          absl::StrCat("method=", c.registration_method, " ial=", c.ial));
    absl::Status e1 = Emit(tx, *random_, account_id, [&](ev::AccountEvent* e) {
      auto* ac = e->mutable_account_created();
      ac->set_subject_kind(ev::SUBJECT_KIND_CITIZEN);
      ac->set_ial(c.ial);
      ac->set_verification_source(c.verification_source);
      ac->set_registration_method(c.registration_method);
    });
    if (!e1.ok()) return e1;
    absl::Status e2 = Emit(tx, *random_, account_id, [&](ev::AccountEvent* e) {
      e->mutable_credential_changed()->set_credential_type("PASSWORD");
      e->mutable_credential_changed()->set_change("SET");
    });
    if (!e2.ok()) return e2;
    auto a = Load(tx, "a.account_id = $1::uuid", account_id);
    if (!a.ok()) return a.status();
    created = **a;
    return absl::OkStatus();
  });
  if (pg::IsUniqueViolation(s)) {
    std::string constraint = pg::UniqueViolationConstraint(s);
    if (constraint.find("request_id") != std::string::npos) {
      // A concurrent retry of the same request committed first: return its account.
      absl::StatusOr<Account> again = CreateCitizen(c, account_id, password_hash);
      return again;
    }
    return AccountExists();
  }
  if (!s.ok()) return s;
  return *created;
}

absl::StatusOr<std::string> PgAccountStore::Seal(const std::string& account_id,
                                                 const std::string& column,
                                                 const std::string& value) const {
  if (value.empty()) return std::string();
  return cipher_->Seal(value, absl::StrCat(account_id, "/", column));
}

// Empty values are stored as NULL (NULLIF in the SQL): libpqxx 6 has no portable optional
// parameters.
absl::Status PgAccountStore::InsertCitizen(pqxx::work& tx, const std::string& account_id,
                                           const CitizenIdentity& id) {
  auto cccd = Seal(account_id, "cccd", id.cccd);
  auto cmnd = Seal(account_id, "cmnd", id.cmnd);
  auto passport = Seal(account_id, "passport", id.passport);
  auto name = Seal(account_id, "full_name", id.full_name);
  auto dob = Seal(account_id, "birth_date", id.date_of_birth);
  auto phone = Seal(account_id, "phone", id.phone);
  auto email = Seal(account_id, "email", id.email);
  for (const auto* r : {&cccd, &cmnd, &passport, &name, &dob, &phone, &email}) {
    if (!r->ok()) return r->status();
  }
  std::string cccd_idx = id.cccd.empty() ? "" : Index("CCCD", id.cccd);
  std::string cmnd_idx = id.cmnd.empty() ? "" : Index("CMND", id.cmnd);
  std::string passport_idx = id.passport.empty() ? "" : Index("HC", id.passport);
  pg::ExecPrepared(tx,
      "INSERT INTO citizen_identities (account_id, cccd_index, cmnd_index, passport_index, "
      "cccd_sealed, cmnd_sealed, passport_sealed, full_name_sealed, birth_date_sealed, gender, "
      "phone_sealed, email_sealed) "
      "VALUES ($1::uuid, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''), "
      "NULLIF($6, ''), NULLIF($7, ''), $8, NULLIF($9, ''), $10, NULLIF($11, ''), "
      "NULLIF($12, ''))",
      account_id, cccd_idx, cmnd_idx, passport_idx, *cccd, *cmnd, *passport, *name, *dob,
      id.gender, *phone, *email);
  return absl::OkStatus();
}

absl::Status PgAccountStore::InsertBusiness(pqxx::work& tx, const std::string& account_id,
                                            const BusinessIdentity& b) {
  auto mst = Seal(account_id, "business.mst", b.mst);
  auto name = Seal(account_id, "business.name", b.name);
  auto email = Seal(account_id, "business.email", b.email);
  auto phone = Seal(account_id, "business.phone", b.phone);
  auto address = Seal(account_id, "business.address", b.address);
  auto rep = Seal(account_id, "business.representative_cccd", b.representative_cccd);
  for (const auto* r : {&mst, &name, &email, &phone, &address, &rep}) {
    if (!r->ok()) return r->status();
  }
  std::string rep_idx = b.representative_cccd.empty() ? "" : Index("CCCD", b.representative_cccd);
  pg::ExecPrepared(tx,
      "INSERT INTO business_identities (account_id, mst_index, mst_sealed, name_sealed, "
      "email_sealed, phone_sealed, address_sealed, representative_cccd_sealed, "
      "representative_cccd_index) VALUES ($1::uuid, $2, $3, $4, $5, NULLIF($6, ''), "
      "NULLIF($7, ''), NULLIF($8, ''), NULLIF($9, ''))",
      account_id, Index("MST", b.mst), *mst, *name, *email, *phone, *address, *rep, rep_idx);
  return absl::OkStatus();
}

absl::Status PgAccountStore::InsertAgency(pqxx::work& tx, const std::string& account_id,
                                          const AgencyIdentity& g) {
  auto cccd = Seal(account_id, "agency.official_cccd", g.official_cccd);
  auto name = Seal(account_id, "agency.official_full_name", g.official_full_name);
  auto email = Seal(account_id, "agency.email", g.email);
  auto phone = Seal(account_id, "agency.phone", g.phone);
  for (const auto* r : {&cccd, &name, &email, &phone}) {
    if (!r->ok()) return r->status();
  }
  pg::ExecPrepared(tx,
      "INSERT INTO agency_identities (account_id, unit_code, organization_name, "
      "unit_official_index, official_cccd_index, official_cccd_sealed, "
      "official_full_name_sealed, email_sealed, phone_sealed) VALUES ($1::uuid, $2, $3, $4, $5, "
      "$6, $7, NULLIF($8, ''), NULLIF($9, ''))",
      account_id, g.unit_code, g.organization_name,
      Index("AGENCY", absl::StrCat(g.unit_code, "|", g.official_cccd)),
      Index("CCCD", g.official_cccd), *cccd, *name, *email, *phone);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Account>> PgAccountStore::Load(pqxx::work& tx,
                                                            const std::string& where,
                                                            const std::string& param) {
  // The citizen identity is joined (callers select by its blind indexes); a business or agency
  // identity is read by a second statement.
  pqxx::result r = pg::ExecPrepared(tx, 
      "SELECT a.account_id::text, a.subject_kind, a.ial, a.status, a.verification_source, "
      "a.registration_method, extract(epoch from a.created_at)::bigint, "
      "c.cccd_sealed, c.cmnd_sealed, c.full_name_sealed, c.birth_date_sealed, c.gender, "
      "c.phone_sealed, c.email_sealed, "
      "EXISTS (SELECT 1 FROM credentials p WHERE p.account_id = a.account_id "
      "AND p.type = 'PASSWORD'), c.passport_sealed "
      "FROM accounts a LEFT JOIN citizen_identities c ON c.account_id = a.account_id WHERE " +
          where,
      param);
  if (r.empty()) return std::optional<Account>();
  const auto& row = r[0];
  Account a;
  a.account_id = row[0].c_str();
  a.subject_kind = static_cast<SubjectKind>(row[1].as<int>());
  a.ial = row[2].as<int>();
  a.status = static_cast<AccountStatus>(row[3].as<int>());
  a.verification_source = row[4].c_str();
  a.registration_method = row[5].c_str();
  a.created_at = absl::FromUnixSeconds(row[6].as<int64_t>());
  auto open = [&](int col, const char* column, std::string* out) -> absl::Status {
    if (row[col].is_null()) return absl::OkStatus();
    auto v = cipher_->Open(row[col].c_str(), absl::StrCat(a.account_id, "/", column));
    if (!v.ok()) return v.status();
    *out = *v;
    return absl::OkStatus();
  };
  for (auto s : {open(7, "cccd", &a.citizen.cccd), open(8, "cmnd", &a.citizen.cmnd),
                 open(9, "full_name", &a.citizen.full_name),
                 open(10, "birth_date", &a.citizen.date_of_birth),
                 open(12, "phone", &a.citizen.phone), open(13, "email", &a.citizen.email),
                 open(15, "passport", &a.citizen.passport)}) {
    if (!s.ok()) return s;
  }
  if (!row[11].is_null()) a.citizen.gender = row[11].c_str();
  a.has_password = row[14].as<bool>();
  if (a.subject_kind == SubjectKind::kBusiness) {
    if (auto s = LoadBusiness(tx, &a); !s.ok()) return s;
  } else if (a.subject_kind == SubjectKind::kAgency) {
    if (auto s = LoadAgency(tx, &a); !s.ok()) return s;
  }
  return std::optional<Account>(std::move(a));
}

absl::Status PgAccountStore::LoadBusiness(pqxx::work& tx, Account* a) {
  pqxx::result r = pg::ExecPrepared(tx,
      "SELECT mst_sealed, name_sealed, email_sealed, phone_sealed, address_sealed, "
      "representative_cccd_sealed FROM business_identities WHERE account_id = $1::uuid",
      a->account_id);
  if (r.empty()) return absl::OkStatus();
  const auto& row = r[0];
  BusinessIdentity& b = a->business;
  const std::pair<const char*, std::string*> cols[] = {
      {"business.mst", &b.mst},         {"business.name", &b.name},
      {"business.email", &b.email},     {"business.phone", &b.phone},
      {"business.address", &b.address}, {"business.representative_cccd", &b.representative_cccd}};
  for (int i = 0; i < 6; ++i) {
    if (row[i].is_null()) continue;
    auto v = cipher_->Open(row[i].c_str(), absl::StrCat(a->account_id, "/", cols[i].first));
    if (!v.ok()) return v.status();
    *cols[i].second = *v;
  }
  return absl::OkStatus();
}

absl::Status PgAccountStore::LoadAgency(pqxx::work& tx, Account* a) {
  pqxx::result r = pg::ExecPrepared(tx,
      "SELECT official_cccd_sealed, official_full_name_sealed, email_sealed, phone_sealed, "
      "unit_code, organization_name FROM agency_identities WHERE account_id = $1::uuid",
      a->account_id);
  if (r.empty()) return absl::OkStatus();
  const auto& row = r[0];
  AgencyIdentity& g = a->agency;
  const std::pair<const char*, std::string*> cols[] = {
      {"agency.official_cccd", &g.official_cccd},
      {"agency.official_full_name", &g.official_full_name},
      {"agency.email", &g.email},
      {"agency.phone", &g.phone}};
  for (int i = 0; i < 4; ++i) {
    if (row[i].is_null()) continue;
    auto v = cipher_->Open(row[i].c_str(), absl::StrCat(a->account_id, "/", cols[i].first));
    if (!v.ok()) return v.status();
    *cols[i].second = *v;
  }
  g.unit_code = row[4].c_str();
  g.organization_name = row[5].c_str();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Account>> PgAccountStore::Get(const std::string& account_id) {
  std::optional<Account> out;
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    auto a = Load(tx, "a.account_id = $1::uuid", account_id);
    if (!a.ok()) return a.status();
    out = *a;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<Account>> PgAccountStore::FindByIdNumber(
    const std::string& id_number) {
  std::optional<Account> out;
  const bool cccd = id_number.size() == 12;
  std::string idx = Index(cccd ? "CCCD" : "CMND", id_number);
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    auto a = Load(tx, cccd ? "c.cccd_index = $1" : "c.cmnd_index = $1", idx);
    if (!a.ok()) return a.status();
    out = *a;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<std::string>> PgAccountStore::FindAccountId(
    const std::string& id_number) {
  std::optional<std::string> out;
  const bool cccd = id_number.size() == 12;
  std::string idx = Index(cccd ? "CCCD" : "CMND", id_number);
  absl::Status s = pool_->WithStatement([&](pqxx::transaction_base& tx) -> absl::Status {
    pqxx::result r = pg::ExecPrepared(tx, 
        std::string("SELECT account_id::text FROM citizen_identities WHERE ") +
            (cccd ? "cccd_index" : "cmnd_index") + " = $1",
        idx);
    if (!r.empty()) out = r[0][0].c_str();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<AccountStore::Credential>> PgAccountStore::FindCredential(
    const std::string& id_number) {
  std::optional<Credential> out;
  const bool cccd = id_number.size() == 12;
  std::string idx = Index(cccd ? "CCCD" : "CMND", id_number);
  // One statement on the login path: no BEGIN/COMMIT round trips.
  absl::Status s = pool_->WithStatement([&](pqxx::transaction_base& tx) -> absl::Status {
    pqxx::result r = pg::ExecPrepared(tx,
        std::string("SELECT c.account_id::text, p.secret_hash, a.ial, a.status, c.phone_sealed "
                    "FROM citizen_identities c "
                    "JOIN accounts a ON a.account_id = c.account_id "
                    "JOIN credentials p ON p.account_id = c.account_id AND p.type = 'PASSWORD' "
                    "WHERE c.") + (cccd ? "cccd_index" : "cmnd_index") + " = $1",
        idx);
    if (!r.empty()) {
      out = Credential{r[0][0].c_str(), r[0][1].c_str(), r[0][2].as<int>(),
                       static_cast<AccountStatus>(r[0][3].as<int>()), r[0][4].c_str()};
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> PgAccountStore::OpenPhone(const Credential& c) {
  // A certificate-registered citizen who later set a password may have no phone on record.
  if (c.phone_sealed.empty()) return std::string();
  return cipher_->Open(c.phone_sealed, absl::StrCat(c.account_id, "/phone"));
}

absl::Status PgAccountStore::SetPasswordHash(const std::string& account_id,
                                             const std::string& hash, const std::string& change,
                                             const std::string& previous_hash) {
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    if (change == "REHASHED") {
      pg::ExecPrepared(tx, 
          "UPDATE credentials SET secret_hash = $2, updated_at = now() "
          "WHERE account_id = $1::uuid AND type = 'PASSWORD' AND secret_hash = $3",
          account_id, hash, previous_hash);
      return absl::OkStatus();
    }
    pg::ExecPrepared(tx, 
        "INSERT INTO credentials (account_id, type, secret_hash) VALUES ($1::uuid, 'PASSWORD', $2) "
        "ON CONFLICT (account_id, type) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, "
        "updated_at = now()",
        account_id, hash);
    Audit(tx, account_id, "PASSWORD_" + change, "");
    return Emit(tx, *random_, account_id, [&](ev::AccountEvent* e) {
      e->mutable_credential_changed()->set_credential_type("PASSWORD");
      e->mutable_credential_changed()->set_change(change);
    });
  });
}

// ---- IAL3 certificate accounts ----

absl::StatusOr<Account> PgAccountStore::CreateCertificateAccount(const NewCertificateAccount& c,
                                                                 const std::string& account_id) {
  // Any unique violation means a concurrent request committed first — maybe a retry of this
  // very request: one more pass either returns that request's account or gives the clean
  // duplicate answer from the checks; only then are constraint names mapped.
  absl::StatusOr<Account> r = CreateCertificateAccountOnce(c, account_id, /*last_pass=*/false);
  if (!r.ok() && IsRetrySignal(r.status())) {
    r = CreateCertificateAccountOnce(c, account_id, /*last_pass=*/true);
  }
  if (!r.ok() && IsRetrySignal(r.status())) return status::Internal();
  return r;
}

absl::StatusOr<Account> PgAccountStore::CreateCertificateAccountOnce(
    const NewCertificateAccount& c, const std::string& account_id, bool last_pass) {
  std::optional<Account> created;
  const CertificateCredential& cert = c.certificate;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    created.reset();
    // Idempotent retry: the same request id returns the account it created. Asked again
    // before answering "duplicate": a concurrent retry of this request may have committed
    // between the two statements (each statement sees the latest commits).
    auto prior = [&]() -> absl::StatusOr<bool> {
      pqxx::result r = pg::ExecPrepared(tx,
          "SELECT account_id::text FROM accounts WHERE create_request_id = $1", c.request_id);
      if (r.empty()) return false;
      auto a = Load(tx, "a.account_id = $1::uuid", r[0][0].c_str());
      if (!a.ok()) return a.status();
      if (!a->has_value()) return status::Internal();
      created = **a;
      return true;
    };
    auto duplicate = [&](absl::Status answer) -> absl::Status {
      auto p = prior();
      if (!p.ok()) return p.status();
      return *p ? absl::OkStatus() : answer;
    };
    auto p = prior();
    if (!p.ok()) return p.status();
    if (*p) return absl::OkStatus();
    // Duplicate checks first, for a clean answer; the UNIQUE constraints close the race between
    // two concurrent registrations (mapped below).
    pqxx::result dup;
    switch (c.subject_kind) {
      case SubjectKind::kCitizen: {
        const CitizenIdentity& id = c.citizen;
        dup = pg::ExecPrepared(tx,
            "SELECT 1 FROM citizen_identities WHERE cccd_index = $1 OR cmnd_index = $2 "
            "OR passport_index = $3",
            id.cccd.empty() ? "" : Index("CCCD", id.cccd),
            id.cmnd.empty() ? "" : Index("CMND", id.cmnd),
            id.passport.empty() ? "" : Index("HC", id.passport));
        break;
      }
      case SubjectKind::kBusiness:
        dup = pg::ExecPrepared(tx, "SELECT 1 FROM business_identities WHERE mst_index = $1",
                               Index("MST", c.business.mst));
        break;
      case SubjectKind::kAgency:
        dup = pg::ExecPrepared(
            tx, "SELECT 1 FROM agency_identities WHERE unit_official_index = $1",
            Index("AGENCY", absl::StrCat(c.agency.unit_code, "|", c.agency.official_cccd)));
        break;
    }
    if (!dup.empty()) {
      return duplicate(DuplicateAccount(c.subject_kind, c.subject_kind == SubjectKind::kBusiness
                                                            ? "business.mst"
                                                        : c.subject_kind == SubjectKind::kAgency
                                                            ? "agency.official_cccd"
                                                            : "id_number"));
    }
    if (!pg::ExecPrepared(tx,
             "SELECT 1 FROM certificate_credentials WHERE fingerprint_sha256 = $1",
             cert.fingerprint_sha256)
             .empty()) {
      return duplicate(CertificateAlreadyRegistered());
    }
    pg::ExecPrepared(tx,
        "INSERT INTO accounts (account_id, subject_kind, ial, status, verification_source, "
        "registration_method, create_request_id) VALUES ($1::uuid, $2, 3, 1, $3, $4, $5)",
        account_id, static_cast<int>(c.subject_kind), std::string(kSourceCertificate),
        cert.method, c.request_id);
    absl::Status st;
    switch (c.subject_kind) {
      case SubjectKind::kCitizen: st = InsertCitizen(tx, account_id, c.citizen); break;
      case SubjectKind::kBusiness: st = InsertBusiness(tx, account_id, c.business); break;
      case SubjectKind::kAgency: st = InsertAgency(tx, account_id, c.agency); break;
    }
    if (!st.ok()) return st;
    auto subscriber =
        Seal(account_id, absl::StrCat("certificate.subscriber/", cert.fingerprint_sha256),
             cert.subscriber);
    if (!subscriber.ok()) return subscriber.status();
    pg::ExecPrepared(tx,
        "INSERT INTO certificate_credentials (account_id, fingerprint_sha256, method, issuer_cn, "
        "serial_hex, not_after, subscriber_sealed) VALUES ($1::uuid, $2, $3, $4, $5, "
        "to_timestamp($6::float8), NULLIF($7, ''))",
        account_id, cert.fingerprint_sha256, cert.method, cert.issuer_cn, cert.serial_hex,
        Seconds(cert.not_after), *subscriber);
    if (!c.consent_version.empty()) {
      pg::ExecPrepared(tx, "INSERT INTO consents (account_id, version) VALUES ($1::uuid, $2)",
                       account_id, c.consent_version);
    }
    Audit(tx, account_id, "ACCOUNT_CREATED",
          absl::StrCat("kind=", KindName(c.subject_kind), " method=", cert.method, " ial=3"));
    Audit(tx, account_id, "CERTIFICATE_ADDED",
          absl::StrCat("method=", cert.method, " fingerprint=", cert.fingerprint_sha256));
    absl::Status e1 = Emit(tx, *random_, account_id, [&](ev::AccountEvent* e) {
      auto* ac = e->mutable_account_created();
      ac->set_subject_kind(EventKind(c.subject_kind));
      ac->set_ial(3);
      ac->set_verification_source(kSourceCertificate);
      ac->set_registration_method(cert.method);
    });
    if (!e1.ok()) return e1;
    absl::Status e2 = Emit(tx, *random_, account_id, [&](ev::AccountEvent* e) {
      auto* cc = e->mutable_credential_changed();
      cc->set_credential_type("CERTIFICATE");
      cc->set_change("SET");
      cc->set_method(cert.method);
    });
    if (!e2.ok()) return e2;
    auto a = Load(tx, "a.account_id = $1::uuid", account_id);
    if (!a.ok()) return a.status();
    if (!a->has_value()) return status::Internal();
    created = **a;
    return absl::OkStatus();
  });
  if (pg::IsUniqueViolation(s)) {
    const std::string constraint = pg::UniqueViolationConstraint(s);
    if (!last_pass || constraint.find("request_id") != std::string::npos) return RetrySignal();
    if (constraint.find("fingerprint") != std::string::npos) return CertificateAlreadyRegistered();
    if (constraint.find("mst") != std::string::npos) {
      return DuplicateAccount(SubjectKind::kBusiness, "business.mst");
    }
    if (constraint.find("unit_official") != std::string::npos) {
      return DuplicateAccount(SubjectKind::kAgency, "agency.official_cccd");
    }
    if (constraint.find("citizen_identities") != std::string::npos) return AccountExists();
    log::Error("accounts.unexpected_unique_violation", {{"constraint", constraint}});
    return status::Internal();
  }
  if (!s.ok()) return s;
  return *created;
}

absl::StatusOr<Account> PgAccountStore::AddCertificate(const NewCertificate& c) {
  // Two concurrent requests adding the same certificate (or retries of one request): the loser
  // of the unique index runs once more and then sees the winner's row.
  absl::StatusOr<Account> r = AddCertificateOnce(c);
  if (!r.ok() && IsRetrySignal(r.status())) r = AddCertificateOnce(c);
  if (!r.ok() && IsRetrySignal(r.status())) return status::Internal();
  return r;
}

absl::StatusOr<Account> PgAccountStore::AddCertificateOnce(const NewCertificate& c) {
  std::optional<Account> out;
  const CertificateCredential& cert = c.certificate;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.reset();
    pqxx::result prior = pg::ExecPrepared(tx,
        "SELECT account_id::text, fingerprint_sha256 FROM certificate_credentials "
        "WHERE add_request_id = $1",
        c.request_id);
    if (!prior.empty()) {
      if (c.account_id != prior[0][0].c_str() || cert.fingerprint_sha256 != prior[0][1].c_str()) {
        return RequestIdReused();
      }
    } else {
      pqxx::result acc = pg::ExecPrepared(tx,
          "SELECT ial, status FROM accounts WHERE account_id = $1::uuid FOR UPDATE",
          c.account_id);
      if (acc.empty()) return AccountNotFound();
      const int ial = acc[0][0].as<int>();
      if (acc[0][1].as<int>() != static_cast<int>(AccountStatus::kActive)) {
        return AccountNotActive();
      }
      pqxx::result held = pg::ExecPrepared(tx,
          "SELECT account_id::text, removed_at IS NOT NULL FROM certificate_credentials "
          "WHERE fingerprint_sha256 = $1 FOR UPDATE",
          cert.fingerprint_sha256);
      bool changed = true;
      auto subscriber =
          Seal(c.account_id, absl::StrCat("certificate.subscriber/", cert.fingerprint_sha256),
               cert.subscriber);
      if (!subscriber.ok()) return subscriber.status();
      if (!held.empty()) {
        if (c.account_id != held[0][0].c_str()) return CertificateAlreadyRegistered();
        if (!held[0][1].as<bool>()) {
          changed = false;  // already active on this account: nothing to do
        } else {
          // Removed earlier from this same account: bound again.
          pg::ExecPrepared(tx,
              "UPDATE certificate_credentials SET removed_at = NULL, method = $2, "
              "issuer_cn = $3, serial_hex = $4, not_after = to_timestamp($5::float8), "
              "subscriber_sealed = NULLIF($6, ''), add_request_id = $7, created_at = now() "
              "WHERE fingerprint_sha256 = $1",
              cert.fingerprint_sha256, cert.method, cert.issuer_cn, cert.serial_hex,
              Seconds(cert.not_after), *subscriber, c.request_id);
        }
      } else {
        pg::ExecPrepared(tx,
            "INSERT INTO certificate_credentials (account_id, fingerprint_sha256, method, "
            "issuer_cn, serial_hex, not_after, subscriber_sealed, add_request_id) VALUES "
            "($1::uuid, $2, $3, $4, $5, to_timestamp($6::float8), NULLIF($7, ''), $8)",
            c.account_id, cert.fingerprint_sha256, cert.method, cert.issuer_cn, cert.serial_hex,
            Seconds(cert.not_after), *subscriber, c.request_id);
      }
      if (changed) {
        pg::ExecPrepared(tx, "UPDATE accounts SET updated_at = now() WHERE account_id = $1::uuid",
                         c.account_id);
        Audit(tx, c.account_id, "CERTIFICATE_ADDED",
              absl::StrCat("method=", cert.method, " fingerprint=", cert.fingerprint_sha256));
        absl::Status e1 = Emit(tx, *random_, c.account_id, [&](ev::AccountEvent* e) {
          auto* cc = e->mutable_credential_changed();
          cc->set_credential_type("CERTIFICATE");
          cc->set_change("SET");
          cc->set_method(cert.method);
        });
        if (!e1.ok()) return e1;
      }
      if (ial < 3) {
        // IAL-2: a certificate (USB, SIM, SmartCA) is level 3; the level only rises here.
        pg::ExecPrepared(tx, "UPDATE accounts SET ial = 3, updated_at = now() "
                             "WHERE account_id = $1::uuid",
                         c.account_id);
        Audit(tx, c.account_id, "IAL_RAISED",
              absl::StrCat("from=", ial, " to=3 reason=CERTIFICATE_ADDED"));
        absl::Status e2 = Emit(tx, *random_, c.account_id, [&](ev::AccountEvent* e) {
          auto* al = e->mutable_assurance_level_changed();
          al->set_from_ial(ial);
          al->set_to_ial(3);
          al->set_reason("CERTIFICATE_ADDED");
        });
        if (!e2.ok()) return e2;
      }
    }
    auto a = Load(tx, "a.account_id = $1::uuid", c.account_id);
    if (!a.ok()) return a.status();
    if (!a->has_value()) return AccountNotFound();
    out = **a;
    return absl::OkStatus();
  });
  if (pg::IsUniqueViolation(s)) {
    const std::string constraint = pg::UniqueViolationConstraint(s);
    if (constraint.find("request_id") != std::string::npos ||
        constraint.find("fingerprint") != std::string::npos) {
      return RetrySignal();
    }
    log::Error("accounts.unexpected_unique_violation", {{"constraint", constraint}});
    return status::Internal();
  }
  if (!s.ok()) return s;
  return *out;
}

absl::StatusOr<std::optional<CertificateOwner>> PgAccountStore::FindByCertificate(
    const std::string& fingerprint_sha256) {
  std::optional<CertificateOwner> out;
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    out.reset();
    pqxx::result r = pg::ExecPrepared(tx,
        "SELECT c.account_id::text, a.status, a.ial, a.subject_kind, c.method "
        "FROM certificate_credentials c JOIN accounts a ON a.account_id = c.account_id "
        "WHERE c.fingerprint_sha256 = $1 AND c.removed_at IS NULL",
        fingerprint_sha256);
    if (r.empty()) return absl::OkStatus();
    CertificateOwner o;
    o.account_id = r[0][0].c_str();
    o.status = static_cast<AccountStatus>(r[0][1].as<int>());
    o.ial = r[0][2].as<int>();
    o.subject_kind = static_cast<SubjectKind>(r[0][3].as<int>());
    o.method = r[0][4].c_str();
    out = std::move(o);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<std::vector<CertificateCredential>>>
PgAccountStore::ListCertificates(const std::string& account_id) {
  std::optional<std::vector<CertificateCredential>> out;
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    out.reset();
    if (pg::ExecPrepared(tx, "SELECT 1 FROM accounts WHERE account_id = $1::uuid", account_id)
            .empty()) {
      return absl::OkStatus();
    }
    pqxx::result r = pg::ExecPrepared(tx,
        "SELECT fingerprint_sha256, method, issuer_cn, serial_hex, "
        "floor(extract(epoch from not_after))::bigint, subscriber_sealed, "
        "floor(extract(epoch from created_at))::bigint FROM certificate_credentials "
        "WHERE account_id = $1::uuid AND removed_at IS NULL ORDER BY created_at, id",
        account_id);
    std::vector<CertificateCredential> list;
    for (const auto& row : r) {
      CertificateCredential c;
      c.fingerprint_sha256 = row[0].c_str();
      c.method = row[1].c_str();
      c.issuer_cn = row[2].c_str();
      c.serial_hex = row[3].c_str();
      c.not_after = absl::FromUnixSeconds(row[4].as<int64_t>());
      if (!row[5].is_null()) {
        auto v = cipher_->Open(
            row[5].c_str(),
            absl::StrCat(account_id, "/certificate.subscriber/", c.fingerprint_sha256));
        if (!v.ok()) return v.status();
        c.subscriber = *v;
      }
      c.created_at = absl::FromUnixSeconds(row[6].as<int64_t>());
      list.push_back(std::move(c));
    }
    out = std::move(list);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<std::string>> PgAccountStore::FindAccountIdByMst(
    const std::string& mst) {
  std::optional<std::string> out;
  const std::string idx = Index("MST", mst);
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    out.reset();
    pqxx::result r = pg::ExecPrepared(
        tx, "SELECT account_id::text FROM business_identities WHERE mst_index = $1", idx);
    if (!r.empty()) out = r[0][0].c_str();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<std::string>> PgAccountStore::FindAccountIdByAgency(
    const std::string& unit_code, const std::string& official_cccd) {
  std::optional<std::string> out;
  const std::string idx = Index("AGENCY", absl::StrCat(unit_code, "|", official_cccd));
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    out.reset();
    pqxx::result r = pg::ExecPrepared(
        tx, "SELECT account_id::text FROM agency_identities WHERE unit_official_index = $1", idx);
    if (!r.empty()) out = r[0][0].c_str();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace dvc::accounts
