#include "services/accounts/adapters/pg_account_store.h"

#include "absl/strings/str_cat.h"
#include "libs/crypto/hmac.h"
#include "libs/kafka/outbox.h"
#include "libs/pg/pool.h"
#include "libs/status/errors.h"
#include "protos/dvc/events/v1/account_events.pb.h"

namespace dvc::accounts {
namespace {

namespace ev = ::dvc::events::v1;

absl::Status AccountExists() {
  return status::AlreadyExists(
      "ACCOUNT_EXISTS", "id_number",
      "Số định danh này đã được đăng ký tài khoản. Nếu quên mật khẩu, vui lòng chọn \"Quên mật "
      "khẩu\"; nếu không phải bạn đăng ký, vui lòng đến quầy dịch vụ công hoặc gửi phản ánh, "
      "kiến nghị.",
      "An account already exists for this ID number. If you forgot the password, use "
      "\"Forgot password\"; if you did not register it, visit a public-service counter or file "
      "a complaint.");
}

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
  out.headers = {{"event_type", e.has_account_created() ? "AccountCreated" : "CredentialChanged"}};
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
    // Empty values are stored as NULL (NULLIF in the SQL): libpqxx 6 has no portable optional
    // parameters.
    auto seal = [&](const std::string& column, const std::string& v) -> absl::StatusOr<std::string> {
      if (v.empty()) return std::string();
      return cipher_->Seal(v, absl::StrCat(account_id, "/", column));
    };
    const CitizenIdentity& id = c.identity;
    auto cccd = seal("cccd", id.cccd);
    auto cmnd = seal("cmnd", id.cmnd);
    auto name = seal("full_name", id.full_name);
    auto dob = seal("birth_date", id.date_of_birth);
    auto phone = seal("phone", id.phone);
    auto email = seal("email", id.email);
    for (const auto* r : {&cccd, &cmnd, &name, &dob, &phone, &email}) {
      if (!r->ok()) return r->status();
    }
    std::string cccd_idx = id.cccd.empty() ? "" : Index("CCCD", id.cccd);
    std::string cmnd_idx = id.cmnd.empty() ? "" : Index("CMND", id.cmnd);
    pg::ExecPrepared(tx, 
        "INSERT INTO accounts (account_id, subject_kind, ial, status, verification_source, "
        "registration_method, create_request_id) VALUES ($1::uuid, 1, $2, 1, $3, $4, $5)",
        account_id, c.ial, c.verification_source, c.registration_method, c.request_id);
    pg::ExecPrepared(tx, 
        "INSERT INTO citizen_identities (account_id, cccd_index, cmnd_index, cccd_sealed, "
        "cmnd_sealed, full_name_sealed, birth_date_sealed, gender, phone_sealed, email_sealed) "
        "VALUES ($1::uuid, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''), $6, "
        "$7, $8, $9, NULLIF($10, ''))",
        account_id, cccd_idx, cmnd_idx, *cccd, *cmnd, *name, *dob, id.gender, *phone, *email);
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

absl::StatusOr<std::optional<Account>> PgAccountStore::Load(pqxx::work& tx,
                                                            const std::string& where,
                                                            const std::string& param) {
  pqxx::result r = pg::ExecPrepared(tx, 
      "SELECT a.account_id::text, a.subject_kind, a.ial, a.status, a.verification_source, "
      "a.registration_method, extract(epoch from a.created_at)::bigint, "
      "c.cccd_sealed, c.cmnd_sealed, c.full_name_sealed, c.birth_date_sealed, c.gender, "
      "c.phone_sealed, c.email_sealed, "
      "EXISTS (SELECT 1 FROM credentials p WHERE p.account_id = a.account_id "
      "AND p.type = 'PASSWORD') "
      "FROM accounts a JOIN citizen_identities c ON c.account_id = a.account_id WHERE " + where,
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
                 open(12, "phone", &a.citizen.phone), open(13, "email", &a.citizen.email)}) {
    if (!s.ok()) return s;
  }
  a.citizen.gender = row[11].c_str();
  a.has_password = row[14].as<bool>();
  return std::optional<Account>(std::move(a));
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
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
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
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
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

}  // namespace dvc::accounts
