#include "services/sigverify/adapters/pg_signature_stores.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/crypto/encoding.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

// Times travel as integer microseconds since the Unix epoch (PostgreSQL's precision).
std::string Ts(int n) {
  return absl::StrCat("(timestamptz 'epoch' + $", n, "::bigint * interval '1 microsecond')");
}
std::string Col(const std::string& c) {
  return "(extract(epoch from " + c + ") * 1000000)::bigint";
}

// A UUID in canonical form; anything else cannot be a row id (and must not reach a ::uuid cast).
bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string JoinDer(const std::vector<std::string>& ders) {
  std::vector<std::string> parts;
  for (const std::string& d : ders) parts.push_back(crypto::Base64Encode(d));
  return absl::StrJoin(parts, ",");
}
std::vector<std::string> SplitDer(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::optional<std::string> der = crypto::Base64Decode(part);
    if (der.has_value()) out.push_back(*der);
  }
  return out;
}

absl::Status ChallengeNotFound() {
  return status::NotFound("CHALLENGE_NOT_FOUND", "challenge_id",
                          "Không tìm thấy mã thử thách ký số cho phiên này.",
                          "No such signing challenge for this flow.");
}

absl::Status RemoteNotFound() {
  return status::NotFound("REMOTE_SIGNATURE_NOT_FOUND", "transaction_id",
                          "Không tìm thấy giao dịch ký số cho phiên này.",
                          "No such remote signing transaction for this flow.");
}

}  // namespace

absl::Status PgChallengeStore::Insert(const StoredChallenge& c) {
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pg::ExecPrepared(tx,
                     "INSERT INTO challenges (challenge_id, flow_id, purpose, challenge, "
                     "expires_at) VALUES ($1::uuid, $2, $3, $4, " + Ts(5) + ")",
                     c.challenge_id, c.flow_id, static_cast<int>(c.purpose), c.challenge,
                     absl::ToUnixMicros(c.expires_at));
    return absl::OkStatus();
  });
}

absl::StatusOr<StoredChallenge> PgChallengeStore::Consume(const std::string& challenge_id,
                                                          const std::string& flow_id,
                                                          Purpose purpose, absl::Time now) {
  if (!IsUuid(challenge_id)) return ChallengeNotFound();
  StoredChallenge out;
  absl::Status result;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    // Single use: exactly one caller turns used_at from NULL to now.
    pqxx::result r = pg::ExecPrepared(
        tx,
        "UPDATE challenges SET used_at = " + Ts(4) +
            " WHERE challenge_id = $1::uuid AND flow_id = $2 AND purpose = $3 "
            "AND used_at IS NULL AND expires_at > " + Ts(4) +
            " RETURNING challenge, " + Col("expires_at"),
        challenge_id, flow_id, static_cast<int>(purpose), absl::ToUnixMicros(now));
    if (!r.empty()) {
      out.challenge_id = challenge_id;
      out.flow_id = flow_id;
      out.purpose = purpose;
      out.challenge = r[0][0].as<std::string>();
      out.expires_at = absl::FromUnixMicros(r[0][1].as<int64_t>());
      result = absl::OkStatus();
      return absl::OkStatus();
    }
    pqxx::result why = pg::ExecPrepared(
        tx,
        "SELECT used_at IS NOT NULL FROM challenges "
        "WHERE challenge_id = $1::uuid AND flow_id = $2 AND purpose = $3",
        challenge_id, flow_id, static_cast<int>(purpose));
    if (why.empty()) {
      result = ChallengeNotFound();
    } else if (why[0][0].as<bool>()) {
      result = status::FailedPrecondition(
          "CHALLENGE_USED", "challenge_id",
          "Mã thử thách ký số đã được sử dụng. Vui lòng ký lại với mã mới.",
          "This signing challenge has already been used. Please sign a new one.");
    } else {
      result = status::FailedPrecondition(
          "CHALLENGE_EXPIRED", "challenge_id",
          "Mã thử thách ký số đã hết hạn. Vui lòng ký lại với mã mới.",
          "This signing challenge has expired. Please sign a new one.");
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!result.ok()) return result;
  return out;
}

absl::StatusOr<int> PgChallengeStore::PurgeExpired(absl::Time cutoff) {
  int n = 0;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    n = static_cast<int>(pg::ExecPrepared(tx, "DELETE FROM challenges WHERE expires_at < " + Ts(1),
                                          absl::ToUnixMicros(cutoff))
                             .affected_rows());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return n;
}

absl::Status PgRemoteSignatureStore::Insert(const RemoteSignature& t) {
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pg::ExecPrepared(tx,
                     "INSERT INTO remote_signatures (transaction_id, flow_id, purpose, provider, "
                     "challenge, provider_transaction_id, start_chain, expires_at) "
                     "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, " + Ts(8) + ")",
                     t.transaction_id, t.flow_id, static_cast<int>(t.purpose),
                     static_cast<int>(t.provider), t.challenge, t.provider_transaction_id,
                     JoinDer(t.start_chain), absl::ToUnixMicros(t.expires_at));
    return absl::OkStatus();
  });
}

absl::StatusOr<RemoteSignature> PgRemoteSignatureStore::Get(const std::string& transaction_id,
                                                            const std::string& flow_id,
                                                            Purpose purpose) {
  if (!IsUuid(transaction_id)) return RemoteNotFound();
  RemoteSignature out;
  bool found = false;
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) -> absl::Status {
    pqxx::result r = pg::ExecPrepared(
        tx,
        "SELECT provider, challenge, provider_transaction_id, start_chain, state, "
        "result_chain, failure_reason, " + Col("expires_at") +
            " FROM remote_signatures WHERE transaction_id = $1::uuid AND flow_id = $2 "
            "AND purpose = $3",
        transaction_id, flow_id, static_cast<int>(purpose));
    if (r.empty()) return absl::OkStatus();
    found = true;
    out.transaction_id = transaction_id;
    out.flow_id = flow_id;
    out.purpose = purpose;
    out.provider = static_cast<RemoteProvider>(r[0][0].as<int>());
    out.challenge = r[0][1].as<std::string>();
    out.provider_transaction_id = r[0][2].as<std::string>();
    out.start_chain = SplitDer(r[0][3].as<std::string>());
    out.state = static_cast<RemoteSignature::State>(r[0][4].as<int>());
    out.result_chain = SplitDer(r[0][5].as<std::string>());
    out.failure_reason = r[0][6].as<std::string>();
    out.expires_at = absl::FromUnixMicros(r[0][7].as<int64_t>());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!found) return RemoteNotFound();
  return out;
}

absl::Status PgRemoteSignatureStore::MarkDone(const std::string& transaction_id,
                                              const std::vector<std::string>& chain) {
  if (!IsUuid(transaction_id)) return RemoteNotFound();
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pg::ExecPrepared(tx,
                     "UPDATE remote_signatures SET state = 2, result_chain = $2, "
                     "finished_at = now() WHERE transaction_id = $1::uuid AND state = 1",
                     transaction_id, JoinDer(chain));
    return absl::OkStatus();
  });
}

absl::Status PgRemoteSignatureStore::MarkFailed(const std::string& transaction_id,
                                                const std::string& reason) {
  if (!IsUuid(transaction_id)) return RemoteNotFound();
  return pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pg::ExecPrepared(tx,
                     "UPDATE remote_signatures SET state = 3, failure_reason = $2, "
                     "finished_at = now() WHERE transaction_id = $1::uuid AND state = 1",
                     transaction_id, reason);
    return absl::OkStatus();
  });
}

absl::StatusOr<int> PgRemoteSignatureStore::PurgeExpired(absl::Time cutoff) {
  int n = 0;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    n = static_cast<int>(
        pg::ExecPrepared(tx, "DELETE FROM remote_signatures WHERE expires_at < " + Ts(1),
                         absl::ToUnixMicros(cutoff))
            .affected_rows());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return n;
}

}  // namespace dvc::sigverify
