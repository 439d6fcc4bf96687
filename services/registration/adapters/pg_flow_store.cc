#include "services/registration/adapters/pg_flow_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
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
    "(extract(epoch FROM expires_at) * 1000000)::bigint AS expires_at_us, version";

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
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pg::ExecPrepared(tx, 
        "INSERT INTO registration_flows (flow_id, method, state, id_number_sealed, "
        "full_name_sealed, birth_date_sealed, phone_sealed, email_sealed, id_index, masked_phone, "
        "consent_version, consent_at, start_request_id, otp_challenge_id, otp_expires_at, "
        "resend_after, account_id, ial, failure_reason, created_at, updated_at, expires_at, "
        "version) VALUES ($1::uuid, $2, $3, NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, ''), "
        "NULLIF($7, ''), NULLIF($8, ''), $9, $10, $11, $12::timestamptz, NULLIF($13, ''), "
        "NULLIF($14, ''), NULLIF($15, '')::timestamptz, NULLIF($16, '')::timestamptz, "
        "NULLIF($17, ''), $18, NULLIF($19, ''), $20::timestamptz, $21::timestamptz, "
        "$22::timestamptz, 1)",
        f.flow_id, f.method, StateName(f.state), sealed->id_number, sealed->full_name,
        sealed->birth_date, sealed->phone, sealed->email, f.id_index, f.masked_phone,
        f.consent_version, Ts(f.consent_at), f.start_request_id, f.otp_challenge_id,
        OptTs(f.otp_expires_at), OptTs(f.resend_after), f.account_id, f.ial, f.failure_reason,
        Ts(f.created_at), Ts(f.updated_at), Ts(f.expires_at));
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
        pg::ExecPrepared(tx, 
            "UPDATE registration_flows SET state = $2, id_number_sealed = NULLIF($3, ''), "
            "full_name_sealed = NULLIF($4, ''), birth_date_sealed = NULLIF($5, ''), "
            "phone_sealed = NULLIF($6, ''), email_sealed = NULLIF($7, ''), masked_phone = $8, "
            "otp_challenge_id = NULLIF($9, ''), otp_expires_at = NULLIF($10, '')::timestamptz, "
            "resend_after = NULLIF($11, '')::timestamptz, account_id = NULLIF($12, ''), "
            "ial = $13, failure_reason = NULLIF($14, ''), updated_at = $15::timestamptz, "
            "version = version + 1 WHERE flow_id = $1::uuid",
            flow->flow_id, StateName(flow->state), sealed->id_number, sealed->full_name,
            sealed->birth_date, sealed->phone, sealed->email, flow->masked_phone,
            flow->otp_challenge_id, OptTs(flow->otp_expires_at), OptTs(flow->resend_after),
            flow->account_id, flow->ial, flow->failure_reason, Ts(flow->updated_at));
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
