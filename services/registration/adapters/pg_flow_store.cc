#include "services/registration/adapters/pg_flow_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/crypto/encoding.h"
#include "libs/jwt/json.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"

namespace dvc::registration {
namespace {

constexpr char kColumns[] =
    "flow_id::text AS flow_id, method, state, id_number_sealed, full_name_sealed, "
    "birth_date_sealed, phone_sealed, email_sealed, id_index, masked_phone, consent_version, "
    "(extract(epoch FROM consent_at) * 1000000)::bigint AS consent_at_us, "
    "COALESCE(start_request_id, '') AS start_request_id, "
    "COALESCE(otp_challenge_id, '') AS otp_challenge_id, "
    "(extract(epoch FROM otp_expires_at) * 1000000)::bigint AS otp_expires_at_us, "
    "(extract(epoch FROM resend_after) * 1000000)::bigint AS resend_after_us, "
    "COALESCE(account_id, '') AS account_id, ial, COALESCE(failure_reason, '') AS failure_reason, "
    "(extract(epoch FROM created_at) * 1000000)::bigint AS created_at_us, "
    "(extract(epoch FROM updated_at) * 1000000)::bigint AS updated_at_us, "
    "(extract(epoch FROM expires_at) * 1000000)::bigint AS expires_at_us, version, "
    "COALESCE(subject_kind, '') AS subject_kind, COALESCE(unit_code, '') AS unit_code, "
    "cert_sealed, COALESCE(challenge_id, '') AS challenge_id, "
    "COALESCE(challenge, '') AS challenge, COALESCE(transaction_id, '') AS transaction_id, "
    "COALESCE(verification_code, '') AS verification_code, "
    "(extract(epoch FROM signature_expires_at) * 1000000)::bigint AS signature_expires_at_us, "
    "signature_requests";

std::string Ts(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6S+00:00", t, absl::UTCTimeZone());
}
std::string OptTs(const std::optional<absl::Time>& t) { return t ? Ts(*t) : std::string(); }

std::string Ad(absl::string_view column, const std::string& flow_id) {
  return absl::StrCat("registration_flows.", column, ":", flow_id);
}

// The sealed columns, in the order of the SQL below.
struct Sealed {
  std::string id_number, full_name, birth_date, phone, email;  // "" = NULL
};

absl::StatusOr<Sealed> SealApplicant(const crypto::FieldCipher& c, const Flow& f) {
  Sealed out;
  const std::pair<const std::string*, std::string*> fields[] = {
      {&f.applicant.id_number, &out.id_number}, {&f.applicant.full_name, &out.full_name},
      {&f.applicant.date_of_birth, &out.birth_date}, {&f.applicant.phone, &out.phone},
      {&f.applicant.email, &out.email}};
  const char* names[] = {"id_number", "full_name", "birth_date", "phone", "email"};
  for (int i = 0; i < 5; ++i) {
    if (fields[i].first->empty()) continue;
    auto s = c.Seal(*fields[i].first, Ad(names[i], f.flow_id));
    if (!s.ok()) return s.status();
    *fields[i].second = *s;
  }
  return out;
}

// The certificate flow's personal data as one JSON document ("" when there is none).
std::string CertDocument(const Flow& f) {
  const CertificateFlow& c = f.cert;
  if (c.subscriber.empty() && !c.certificate) return "";
  jwt::JsonObjectBuilder b;
  b.String("subscriber", c.subscriber);
  if (c.certificate) {
    const CertificateInfo& i = *c.certificate;
    b.Bool("verified", true)
        .String("fingerprint_sha256", i.fingerprint_sha256)
        .String("serial_hex", i.serial_hex)
        .String("subject", i.subject)
        .String("issuer_common_name", i.issuer_common_name)
        .Int("not_before_us", absl::ToUnixMicros(i.not_before))
        .Int("not_after_us", absl::ToUnixMicros(i.not_after))
        .String("kind", i.kind)
        .Bool("government_anchor", i.government_anchor)
        .String("common_name", i.common_name)
        .String("organization", i.organization)
        .String("organizational_unit", i.organizational_unit)
        .String("locality", i.locality)
        .String("state", i.state)
        .String("email", i.email)
        .String("telephone", i.telephone)
        .String("cccd", i.cccd)
        .String("cmnd", i.cmnd)
        .String("passport", i.passport)
        .String("mst", i.mst)
        .String("mns", i.mns)
        .String("method", i.method);
  }
  return b.Build();
}

absl::Status ParseCertDocument(const std::string& json, const std::string& flow_id,
                               CertificateFlow* c) {
  auto doc = jwt::ParseFlatJson(json);
  if (!doc.ok()) {
    log::Error("registration.flow_cert_document_invalid", {{"flow_id", flow_id}});
    return status::Internal();
  }
  auto str = [&](const char* key) { return doc->GetString(key).value_or(""); };
  c->subscriber = str("subscriber");
  if (!doc->GetBool("verified").value_or(false)) return absl::OkStatus();
  CertificateInfo i;
  i.fingerprint_sha256 = str("fingerprint_sha256");
  i.serial_hex = str("serial_hex");
  i.subject = str("subject");
  i.issuer_common_name = str("issuer_common_name");
  i.not_before = absl::FromUnixMicros(doc->GetInt("not_before_us").value_or(0));
  i.not_after = absl::FromUnixMicros(doc->GetInt("not_after_us").value_or(0));
  i.kind = str("kind");
  i.government_anchor = doc->GetBool("government_anchor").value_or(false);
  i.common_name = str("common_name");
  i.organization = str("organization");
  i.organizational_unit = str("organizational_unit");
  i.locality = str("locality");
  i.state = str("state");
  i.email = str("email");
  i.telephone = str("telephone");
  i.cccd = str("cccd");
  i.cmnd = str("cmnd");
  i.passport = str("passport");
  i.mst = str("mst");
  i.mns = str("mns");
  i.method = str("method");
  c->certificate = std::move(i);
  return absl::OkStatus();
}

absl::StatusOr<std::string> SealCert(const crypto::FieldCipher& c, const Flow& f) {
  const std::string doc = CertDocument(f);
  if (doc.empty()) return std::string();
  return c.Seal(doc, Ad("cert", f.flow_id));
}

// The plain certificate-flow columns, in SQL parameter form.
struct CertColumns {
  std::string subject_kind, challenge_b64, expires_at;
};
CertColumns CertColumnsOf(const Flow& f) {
  CertColumns out;
  if (IsCertificateMethod(f.method)) out.subject_kind = SubjectKindName(f.cert.subject_kind);
  if (!f.cert.challenge.empty()) out.challenge_b64 = crypto::Base64Encode(f.cert.challenge);
  out.expires_at = OptTs(f.cert.signature_expires_at);
  return out;
}

absl::Status OpenInto(const crypto::FieldCipher& c, const pqxx::row& row, const char* column,
                      const char* ad_name, const std::string& flow_id, std::string* out) {
  if (row[column].is_null()) return absl::OkStatus();
  auto plain = c.Open(row[column].as<std::string>(), Ad(ad_name, flow_id));
  if (!plain.ok()) {
    log::Error("registration.flow_unseal_failed",
               {{"flow_id", flow_id}, {"column", column},
                {"code", absl::StatusCodeToString(plain.status().code())}});
    return status::Internal();
  }
  *out = std::move(*plain);
  return absl::OkStatus();
}

absl::Time FromMicros(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }
std::optional<absl::Time> OptFromMicros(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return FromMicros(f);
}

absl::StatusOr<Flow> FromRow(const crypto::FieldCipher& c, const pqxx::row& row) {
  Flow f;
  f.flow_id = row["flow_id"].as<std::string>();
  f.method = row["method"].as<std::string>();
  auto state = ParseState(row["state"].as<std::string>());
  if (!state) {
    log::Error("registration.flow_bad_state", {{"flow_id", f.flow_id}});
    return status::Internal();
  }
  f.state = *state;
  for (auto [col, ad, dst] :
       {std::tuple<const char*, const char*, std::string*>{"id_number_sealed", "id_number",
                                                           &f.applicant.id_number},
        {"full_name_sealed", "full_name", &f.applicant.full_name},
        {"birth_date_sealed", "birth_date", &f.applicant.date_of_birth},
        {"phone_sealed", "phone", &f.applicant.phone},
        {"email_sealed", "email", &f.applicant.email}}) {
    if (absl::Status s = OpenInto(c, row, col, ad, f.flow_id, dst); !s.ok()) return s;
  }
  f.id_index = row["id_index"].as<std::string>();
  f.masked_phone = row["masked_phone"].as<std::string>();
  f.consent_version = row["consent_version"].as<std::string>();
  f.consent_at = FromMicros(row["consent_at_us"]);
  f.start_request_id = row["start_request_id"].as<std::string>();
  f.otp_challenge_id = row["otp_challenge_id"].as<std::string>();
  f.otp_expires_at = OptFromMicros(row["otp_expires_at_us"]);
  f.resend_after = OptFromMicros(row["resend_after_us"]);
  f.account_id = row["account_id"].as<std::string>();
  f.ial = row["ial"].as<int>();
  f.failure_reason = row["failure_reason"].as<std::string>();
  f.created_at = FromMicros(row["created_at_us"]);
  f.updated_at = FromMicros(row["updated_at_us"]);
  f.expires_at = FromMicros(row["expires_at_us"]);
  f.version = row["version"].as<int64_t>();

  const std::string kind = row["subject_kind"].as<std::string>();
  if (!kind.empty()) {
    auto k = ParseSubjectKind(kind);
    if (!k) {
      log::Error("registration.flow_bad_subject_kind", {{"flow_id", f.flow_id}});
      return status::Internal();
    }
    f.cert.subject_kind = *k;
  }
  f.cert.unit_code = row["unit_code"].as<std::string>();
  std::string doc;
  if (absl::Status s = OpenInto(c, row, "cert_sealed", "cert", f.flow_id, &doc); !s.ok()) return s;
  if (!doc.empty()) {
    if (absl::Status s = ParseCertDocument(doc, f.flow_id, &f.cert); !s.ok()) return s;
  }
  f.cert.challenge_id = row["challenge_id"].as<std::string>();
  const std::string challenge_b64 = row["challenge"].as<std::string>();
  if (!challenge_b64.empty()) {
    auto raw = crypto::Base64Decode(challenge_b64);
    if (!raw) {
      log::Error("registration.flow_bad_challenge", {{"flow_id", f.flow_id}});
      return status::Internal();
    }
    f.cert.challenge = *raw;
  }
  f.cert.transaction_id = row["transaction_id"].as<std::string>();
  f.cert.verification_code = row["verification_code"].as<std::string>();
  f.cert.signature_expires_at = OptFromMicros(row["signature_expires_at_us"]);
  f.cert.signature_requests = row["signature_requests"].as<int>();
  return f;
}

absl::Status FlowBusy() {
  return status::MakeError(
      absl::StatusCode::kAborted,
      {"FLOW_BUSY", "flow_id",
       "Một yêu cầu khác của phiên đăng ký này đang được xử lý. Vui lòng thử lại sau ít phút.",
       "Another request on this registration is in progress. Please try again in a moment.",
       {}});
}

}  // namespace

PgFlowStore::PgFlowStore(pg::Pool* pool, const crypto::FieldCipher* cipher,
                         absl::Duration lock_timeout)
    : pool_(pool), cipher_(cipher), lock_timeout_(lock_timeout) {}

absl::Status PgFlowStore::Insert(const Flow& f) {
  auto sealed = SealApplicant(*cipher_, f);
  if (!sealed.ok()) return sealed.status();
  auto cert_sealed = SealCert(*cipher_, f);
  if (!cert_sealed.ok()) return cert_sealed.status();
  const CertColumns cc = CertColumnsOf(f);
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pg::ExecPrepared(tx, 
        "INSERT INTO registration_flows (flow_id, method, state, id_number_sealed, "
        "full_name_sealed, birth_date_sealed, phone_sealed, email_sealed, id_index, masked_phone, "
        "consent_version, consent_at, start_request_id, otp_challenge_id, otp_expires_at, "
        "resend_after, account_id, ial, failure_reason, created_at, updated_at, expires_at, "
        "version, subject_kind, unit_code, cert_sealed, challenge_id, challenge, transaction_id, "
        "verification_code, signature_expires_at, signature_requests) VALUES ($1::uuid, $2, $3, "
        "NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, ''), "
        "NULLIF($7, ''), NULLIF($8, ''), $9, $10, $11, $12::timestamptz, NULLIF($13, ''), "
        "NULLIF($14, ''), NULLIF($15, '')::timestamptz, NULLIF($16, '')::timestamptz, "
        "NULLIF($17, ''), $18, NULLIF($19, ''), $20::timestamptz, $21::timestamptz, "
        "$22::timestamptz, 1, NULLIF($23, ''), NULLIF($24, ''), NULLIF($25, ''), "
        "NULLIF($26, ''), NULLIF($27, ''), NULLIF($28, ''), NULLIF($29, ''), "
        "NULLIF($30, '')::timestamptz, $31)",
        f.flow_id, f.method, StateName(f.state), sealed->id_number, sealed->full_name,
        sealed->birth_date, sealed->phone, sealed->email, f.id_index, f.masked_phone,
        f.consent_version, Ts(f.consent_at), f.start_request_id, f.otp_challenge_id,
        OptTs(f.otp_expires_at), OptTs(f.resend_after), f.account_id, f.ial, f.failure_reason,
        Ts(f.created_at), Ts(f.updated_at), Ts(f.expires_at), cc.subject_kind, f.cert.unit_code,
        *cert_sealed, f.cert.challenge_id, cc.challenge_b64, f.cert.transaction_id,
        f.cert.verification_code, cc.expires_at, f.cert.signature_requests);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<Flow>> PgFlowStore::Get(const std::string& flow_id) {
  std::optional<Flow> out;
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    out.reset();
    pqxx::result r = pg::ExecPrepared(tx, 
        absl::StrCat("SELECT ", kColumns, " FROM registration_flows WHERE flow_id = $1::uuid"),
        flow_id);
    if (r.empty()) return absl::OkStatus();
    auto f = FromRow(*cipher_, r[0]);
    if (!f.ok()) return f.status();
    out = std::move(*f);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<Flow>> PgFlowStore::FindByStartRequest(
    const std::string& request_id) {
  std::optional<Flow> out;
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    out.reset();
    pqxx::result r = pg::ExecPrepared(tx, 
        absl::StrCat("SELECT ", kColumns,
                     " FROM registration_flows WHERE start_request_id = $1"),
        request_id);
    if (r.empty()) return absl::OkStatus();
    auto f = FromRow(*cipher_, r[0]);
    if (!f.ok()) return f.status();
    out = std::move(*f);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgFlowStore::WithLockedFlow(const std::string& flow_id, const StepFn& fn) {
  absl::Status step_status;
  bool step_ran = false;
  pg::TxOptions options;
  options.retries = 0;
  absl::Status s = pool_->WithTransaction(
      [&](pqxx::work& tx) -> absl::Status {
        // The step may have called other services already: never run it twice.
        if (step_ran) return status::Unavailable("DB_UNAVAILABLE", "Hệ thống đang tạm thời gián "
                                                 "đoạn. Vui lòng thử lại sau ít phút.",
                                                 "The service is temporarily unavailable. "
                                                 "Please try again in a moment.");
        tx.exec(absl::StrCat("SET LOCAL lock_timeout = '",
                             absl::ToInt64Milliseconds(lock_timeout_), "ms'"));
        pqxx::result r;
        try {
          r = pg::ExecPrepared(tx, absl::StrCat("SELECT ", kColumns,
                                          " FROM registration_flows WHERE flow_id = $1::uuid "
                                          "FOR UPDATE"),
                             flow_id);
        } catch (const pqxx::sql_error& e) {
          if (e.sqlstate() == "55P03") return FlowBusy();  // lock_not_available
          throw;
        }
        std::optional<Flow> flow;
        if (!r.empty()) {
          auto f = FromRow(*cipher_, r[0]);
          if (!f.ok()) return f.status();
          flow = std::move(*f);
        }
        step_ran = true;
        StepResult res = fn(flow ? &*flow : nullptr);
        step_status = res.status;
        if (!res.save || !flow) return absl::OkStatus();
        auto sealed = SealApplicant(*cipher_, *flow);
        if (!sealed.ok()) return sealed.status();
        auto cert_sealed = SealCert(*cipher_, *flow);
        if (!cert_sealed.ok()) return cert_sealed.status();
        const CertColumns cc = CertColumnsOf(*flow);
        pg::ExecPrepared(tx, 
            "UPDATE registration_flows SET state = $2, id_number_sealed = NULLIF($3, ''), "
            "full_name_sealed = NULLIF($4, ''), birth_date_sealed = NULLIF($5, ''), "
            "phone_sealed = NULLIF($6, ''), email_sealed = NULLIF($7, ''), masked_phone = $8, "
            "otp_challenge_id = NULLIF($9, ''), otp_expires_at = NULLIF($10, '')::timestamptz, "
            "resend_after = NULLIF($11, '')::timestamptz, account_id = NULLIF($12, ''), "
            "ial = $13, failure_reason = NULLIF($14, ''), updated_at = $15::timestamptz, "
            "subject_kind = NULLIF($16, ''), unit_code = NULLIF($17, ''), "
            "cert_sealed = NULLIF($18, ''), challenge_id = NULLIF($19, ''), "
            "challenge = NULLIF($20, ''), transaction_id = NULLIF($21, ''), "
            "verification_code = NULLIF($22, ''), "
            "signature_expires_at = NULLIF($23, '')::timestamptz, signature_requests = $24, "
            "version = version + 1 WHERE flow_id = $1::uuid",
            flow->flow_id, StateName(flow->state), sealed->id_number, sealed->full_name,
            sealed->birth_date, sealed->phone, sealed->email, flow->masked_phone,
            flow->otp_challenge_id, OptTs(flow->otp_expires_at), OptTs(flow->resend_after),
            flow->account_id, flow->ial, flow->failure_reason, Ts(flow->updated_at),
            cc.subject_kind, flow->cert.unit_code, *cert_sealed, flow->cert.challenge_id,
            cc.challenge_b64, flow->cert.transaction_id, flow->cert.verification_code,
            cc.expires_at, flow->cert.signature_requests);
        return absl::OkStatus();
      },
      options);
  if (!s.ok()) return s;
  return step_status;
}

absl::StatusOr<int> PgFlowStore::PurgeExpired(absl::Time before) {
  int n = 0;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pqxx::result r = pg::ExecPrepared(tx, 
        "DELETE FROM registration_flows WHERE expires_at < $1::timestamptz", Ts(before));
    n = static_cast<int>(r.affected_rows());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return n;
}

}  // namespace dvc::registration
