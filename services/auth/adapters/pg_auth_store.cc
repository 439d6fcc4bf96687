#include "services/auth/adapters/pg_auth_store.h"

#include "libs/captcha_issuer/captcha_issuer.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/crypto/encoding.h"
#include "libs/pg/arrays.h"
#include "libs/crypto/hmac.h"
#include "libs/status/errors.h"

// Times travel as integer microseconds since the Unix epoch, both ways, so nothing depends on
// the session time zone or on text formats.
#define TS(n) "(TIMESTAMPTZ 'epoch' + $" #n "::bigint * INTERVAL '1 microsecond')"
#define US(col) "(EXTRACT(EPOCH FROM " col ") * 1000000)::bigint"

namespace dvc::auth {
namespace {

std::string Us(absl::Time t) { return std::to_string(absl::ToUnixMicros(t)); }

absl::Time TimeOf(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }

std::optional<absl::Time> OptTimeOf(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return TimeOf(f);
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

constexpr char kSessionColumns[] =
    "s.session_id::text, s.account_id::text, s.ial, s.amr, " US("s.auth_time") ", " US(
        "s.created_at") ", " US("s.expires_at") ", " US("s.revoked_at") ", s.client_ip, "
                                                                        "s.user_agent, s.device";

// Reads kSessionColumns starting at column `c`.
Session SessionOf(const pqxx::row& r, int c) {
  Session s;
  s.session_id = r[c].as<std::string>();
  s.account_id = r[c + 1].as<std::string>();
  s.ial = r[c + 2].as<int>();
  s.amr = absl::StrSplit(r[c + 3].as<std::string>(), ' ', absl::SkipEmpty());
  s.auth_time = TimeOf(r[c + 4]);
  s.created_at = TimeOf(r[c + 5]);
  s.expires_at = TimeOf(r[c + 6]);
  s.revoked_at = OptTimeOf(r[c + 7]);
  s.client.ip = r[c + 8].as<std::string>();
  s.client.user_agent = r[c + 9].as<std::string>();
  s.client.device = r[c + 10].as<std::string>();
  return s;
}


// ---- arrays, throttle rows, captchas (shared by the transactions below) ----------------------

using pg::TextArray;

// Microseconds since the epoch, nullopt for an absent time (for a bigint[] parameter).
std::optional<int64_t> OptUs(const std::optional<absl::Time>& t) {
  if (!t.has_value()) return std::nullopt;
  return absl::ToUnixMicros(*t);
}

absl::Status CheckDistinct(const std::vector<std::string>& keys) {
  std::vector<std::string> sorted(keys);
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return absl::InvalidArgumentError("duplicate throttle key");
  }
  return absl::OkStatus();
}

// Creates the missing throttle rows of `keys` (distinct) and locks all of them, in key order so
// that concurrent transactions cannot deadlock; returns their states in the order of `keys`.
// One statement, whatever the number of keys: the upsert's no-op DO UPDATE locks an existing
// row and returns it like a new one.
std::vector<ThrottleState> LockThrottles(pqxx::transaction_base& tx, const std::vector<std::string>& keys) {
  std::vector<std::string> sorted(keys);
  std::sort(sorted.begin(), sorted.end());
  pqxx::result r = pg::ExecPrepared(
      tx,
      "INSERT INTO login_throttles AS t (key) SELECT k FROM unnest($1::text[]) "
      "WITH ORDINALITY AS u(k, n) ORDER BY n ON CONFLICT (key) DO UPDATE SET key = t.key "
      "RETURNING key, failures, " US("blocked_until") ", " US("last_failure_at") ", " US(
          "last_success_at"),
      TextArray(sorted));
  std::map<std::string, ThrottleState> loaded;
  for (const auto& row : r) {
    ThrottleState st;
    st.key = row[0].as<std::string>();
    st.failures = row[1].as<int>();
    st.blocked_until = OptTimeOf(row[2]);
    st.last_failure_at = OptTimeOf(row[3]);
    st.last_success_at = OptTimeOf(row[4]);
    loaded[st.key] = st;
  }
  std::vector<ThrottleState> states;
  for (const std::string& key : keys) {
    auto it = loaded.find(key);
    // The upsert returns every key: a missing one is a bug (INTERNAL).
    if (it == loaded.end()) throw std::runtime_error("throttle row missing");
    states.push_back(it->second);
  }
  return states;
}

// The update of the throttle rows LockThrottles locked: $1 keys, $2 failures, $3–$5
// blocked_until, last_failure_at, last_success_at (µs since the epoch, NULL for none).
#define THROTTLE_UPDATE_SQL                                                                   \
  "UPDATE login_throttles t SET failures = v.failures, "                                      \
  "blocked_until = TIMESTAMPTZ 'epoch' + v.blocked * INTERVAL '1 microsecond', "              \
  "last_failure_at = TIMESTAMPTZ 'epoch' + v.failure * INTERVAL '1 microsecond', "            \
  "last_success_at = TIMESTAMPTZ 'epoch' + v.success * INTERVAL '1 microsecond', "            \
  "updated_at = now() "                                                                       \
  "FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) "             \
  "AS v(key, failures, blocked, failure, success) WHERE t.key = v.key"

// The parameters $1–$5 of THROTTLE_UPDATE_SQL for `states` (states[i] is keys[i]).
struct ThrottleColumns {
  std::string keys, failures, blocked, failure, success;
};
ThrottleColumns ColumnsOf(const std::vector<std::string>& keys,
                          const std::vector<ThrottleState>& states) {
  std::vector<int> failures;
  std::vector<std::optional<int64_t>> blocked, failure, success;
  for (const ThrottleState& st : states) {
    failures.push_back(st.failures);
    blocked.push_back(OptUs(st.blocked_until));
    failure.push_back(OptUs(st.last_failure_at));
    success.push_back(OptUs(st.last_success_at));
  }
  return ThrottleColumns{TextArray(keys), pg::IntArray(failures), pg::IntArray(blocked),
                         pg::IntArray(failure), pg::IntArray(success)};
}

// Stores `states` (states[i] is keys[i]) in the rows LockThrottles locked. One statement.
void WriteThrottles(pqxx::transaction_base& tx, const std::vector<std::string>& keys,
                    const std::vector<ThrottleState>& states) {
  ThrottleColumns c = ColumnsOf(keys, states);
  pg::ExecPrepared(tx, THROTTLE_UPDATE_SQL, c.keys, c.failures, c.blocked, c.failure, c.success);
}

// WriteThrottles and the insert of login flow `f` in one statement (one round trip); no keys:
// only the insert.
void WriteThrottlesAndInsertFlow(pqxx::transaction_base& tx, const std::vector<std::string>& keys,
                                 const std::vector<ThrottleState>& states, const LoginFlow& f) {
  ThrottleColumns c = ColumnsOf(keys, states);
  pg::ExecPrepared(tx,
      "WITH w AS (" THROTTLE_UPDATE_SQL ") "
      "INSERT INTO login_flows (flow_id, account_id, ial, challenge_id, client_ip, user_agent, "
      "device, created_at, expires_at, method, subscriber_index) VALUES ($6::uuid, "
      "NULLIF($7, '')::uuid, $8, $9, $10, $11, $12, " TS(13) ", " TS(14) ", $15, $16)",
      c.keys, c.failures, c.blocked, c.failure, c.success, f.flow_id, f.account_id, f.ial,
      f.challenge_id, f.client.ip, f.client.user_agent, f.client.device, Us(f.created_at),
      Us(f.expires_at), f.method, f.subscriber_index);
}

}  // namespace

// ---- login flows ------------------------------------------------------------------------------

absl::Status PgAuthStore::CreateLoginFlow(const LoginFlow& f) {
  return pool_->WithAsyncCommit([&](pqxx::transaction_base& tx) {
    WriteThrottlesAndInsertFlow(tx, {}, {}, f);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<LoginFlow>> PgAuthStore::GetLoginFlow(const std::string& flow_id) {
  std::optional<LoginFlow> out;
  if (!IsUuid(flow_id)) return out;
  absl::Status s = pool_
                       ->WithReadOnly([&](pqxx::work& tx) {
                         out.reset();
                         pqxx::result r = pg::ExecPrepared(tx, 
        "SELECT flow_id::text, COALESCE(account_id::text, ''), ial, challenge_id, client_ip, "
        "user_agent, device, " US("created_at") ", " US("expires_at") ", " US("completed_at")
        ", method, subscriber_index FROM login_flows WHERE flow_id = $1::uuid",
        flow_id);
                         if (r.empty()) return absl::OkStatus();
                         LoginFlow f;
                         f.flow_id = r[0][0].as<std::string>();
                         f.account_id = r[0][1].as<std::string>();
                         f.ial = r[0][2].as<int>();
                         f.challenge_id = r[0][3].as<std::string>();
                         f.client.ip = r[0][4].as<std::string>();
                         f.client.user_agent = r[0][5].as<std::string>();
                         f.client.device = r[0][6].as<std::string>();
                         f.created_at = TimeOf(r[0][7]);
                         f.expires_at = TimeOf(r[0][8]);
                         f.completed_at = OptTimeOf(r[0][9]);
                         f.method = r[0][10].as<std::string>();
                         f.subscriber_index = r[0][11].as<std::string>();
                         out = std::move(f);
                         return absl::OkStatus();
                       });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<bool> PgAuthStore::CompleteLoginFlow(const std::string& flow_id, absl::Time now) {
  if (!IsUuid(flow_id)) return false;
  bool won = false;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = pg::ExecPrepared(tx, "UPDATE login_flows SET completed_at = " TS(
                                        2) " WHERE flow_id = $1::uuid AND completed_at IS NULL",
                                    flow_id, Us(now));
    won = r.affected_rows() == 1;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return won;
}

// ---- throttles ----------------------------------------------------------------------------------
// Rate windows, throttle counters, captcha use and login flows are committed asynchronously
// (pg::Pool::WithAsyncCommit): a crash of the database server may lose the last ~600 ms of them,
// which costs a user at most a repeated step, an attacker at most a few uncounted attempts.

absl::Status PgAuthStore::UpdateThrottles(
    const std::vector<std::string>& keys,
    const std::function<absl::Status(std::vector<ThrottleState>& states)>& fn) {
  if (absl::Status s = CheckDistinct(keys); !s.ok()) return s;
  return pool_->WithAsyncCommit([&](pqxx::transaction_base& tx) -> absl::Status {
    std::vector<ThrottleState> states = LockThrottles(tx, keys);
    if (absl::Status s = fn(states); !s.ok()) return s;  // rolls back the inserts too
    WriteThrottles(tx, keys, states);
    return absl::OkStatus();
  });
}

absl::Status PgAuthStore::UpdateThrottlesAndCreateFlow(const ThrottleUpdate& update,
                                                       const LoginFlow& flow) {
  if (absl::Status s = CheckDistinct(update.keys); !s.ok()) return s;
  return pool_->WithAsyncCommit([&](pqxx::transaction_base& tx) -> absl::Status {
    std::vector<ThrottleState> states = LockThrottles(tx, update.keys);
    if (absl::Status s = update.fn(states); !s.ok()) return s;  // nothing written
    WriteThrottlesAndInsertFlow(tx, update.keys, states, flow);
    return absl::OkStatus();
  });
}

absl::Status PgAuthStore::AdmitPasswordAttempt(const PasswordAdmission& a) {
  if (absl::Status s = CheckDistinct(a.throttle.keys); !s.ok()) return s;
  // Steps that fail end the transaction with a commit (what the steps before wrote is kept), so
  // their status travels outside the transaction's own.
  absl::Status outcome;
  absl::Status st = pool_->WithAsyncCommit([&](pqxx::transaction_base& tx) -> absl::Status {
    outcome = absl::OkStatus();
    pqxx::row w = pg::ExecPrepared1(
        tx,
        "INSERT INTO rate_windows (key, window_start, count) VALUES ($1, " TS(2) ", 1) "
        "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + 1 "
        "RETURNING count",
        a.ip_window_key, Us(a.ip_window_start));
    if (outcome = a.check_ip(w[0].as<int>()); !outcome.ok()) return absl::OkStatus();
    outcome = captcha::VerifyCaptchaInTransaction(tx, captcha_hmac_key_, a.captcha_id,
                                                  a.captcha_answer, a.now);
    if (!outcome.ok()) return absl::OkStatus();
    std::vector<ThrottleState> states = LockThrottles(tx, a.throttle.keys);
    if (outcome = a.throttle.fn(states); !outcome.ok()) return absl::OkStatus();
    WriteThrottles(tx, a.throttle.keys, states);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return outcome;
}

absl::StatusOr<int> PgAuthStore::IncrementWindow(const std::string& key, absl::Time window_start) {
  int count = 0;
  absl::Status s = pool_->WithAsyncCommit([&](pqxx::transaction_base& tx) {
    pqxx::row r = pg::ExecPrepared1(tx, 
        "INSERT INTO rate_windows (key, window_start, count) VALUES ($1, " TS(2) ", 1) "
        "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + 1 "
        "RETURNING count",
        key, Us(window_start));
    count = r[0].as<int>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return count;
}

// ---- login history ------------------------------------------------------------------------------

absl::Status PgAuthStore::AppendLoginRecord(const LoginRecord& r) {
  if (!IsUuid(r.account_id)) return absl::InvalidArgumentError("account id is not a UUID");
  return pool_->WithTransaction([&](pqxx::work& tx) {
    pg::ExecPrepared(tx, 
        "INSERT INTO login_history (account_id, at, method, success, failure_reason, client_ip, "
        "user_agent, device) VALUES ($1::uuid, " TS(2) ", $3, $4, $5, $6, $7, $8)",
        r.account_id, Us(r.at), r.method, r.success, r.failure_reason, r.ip, r.user_agent,
        r.device);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<LoginRecord>> PgAuthStore::ListLoginRecords(
    const std::string& account_id, int limit) {
  std::vector<LoginRecord> out;
  if (!IsUuid(account_id)) return out;
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) {
    out.clear();
    pqxx::result res = pg::ExecPrepared(tx, 
        "SELECT account_id::text, " US("at") ", method, success, failure_reason, client_ip, "
        "user_agent, device FROM login_history WHERE account_id = $1::uuid "
        "ORDER BY at DESC, id DESC LIMIT $2",
        account_id, limit);
    for (const auto& row : res) {
      LoginRecord r;
      r.account_id = row[0].as<std::string>();
      r.at = TimeOf(row[1]);
      r.method = row[2].as<std::string>();
      r.success = row[3].as<bool>();
      r.failure_reason = row[4].as<std::string>();
      r.ip = row[5].as<std::string>();
      r.user_agent = row[6].as<std::string>();
      r.device = row[7].as<std::string>();
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

// ---- sessions and refresh tokens ----------------------------------------------------------------

absl::Status PgAuthStore::CreateSession(const Session& s, const RefreshRecord& first) {
  return pool_->WithTransaction([&](pqxx::work& tx) {
    pg::ExecPrepared(tx, 
        "INSERT INTO sessions (session_id, account_id, ial, amr, auth_time, created_at, "
        "expires_at, client_ip, user_agent, device) VALUES ($1::uuid, $2::uuid, $3, $4, " TS(
            5) ", " TS(6) ", " TS(7) ", $8, $9, $10)",
        s.session_id, s.account_id, s.ial, absl::StrJoin(s.amr, " "), Us(s.auth_time),
        Us(s.created_at), Us(s.expires_at), s.client.ip, s.client.user_agent, s.client.device);
    pg::ExecPrepared(tx, 
        "INSERT INTO refresh_tokens (token_hmac, session_id, created_at, idle_expires_at) "
        "VALUES ($1, $2::uuid, " TS(3) ", LEAST(" TS(4) ", " TS(5) "))",
        first.token_hmac, s.session_id, Us(first.created_at), Us(first.idle_expires_at),
        Us(s.expires_at));
    return absl::OkStatus();
  });
}

absl::StatusOr<RotateResult> PgAuthStore::RotateRefreshToken(const std::string& old_hmac,
                                                             RefreshRecord next, absl::Time now,
                                                             absl::Duration reuse_grace) {
  RotateResult result;
  absl::Status st = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    result = RotateResult{};
    // FOR UPDATE OF t: a concurrent rotation of the same token waits here and then sees the
    // row with used_at / replaced_by as the other left them (READ COMMITTED re-reads the locked
    // row): a grace replay or a reuse.
    pqxx::result r = pg::ExecPrepared(tx,
        std::string("SELECT " US("t.idle_expires_at") ", " US("t.used_at") ", t.replaced_by, "
                    "t.superseded_at IS NOT NULL, ") +
            kSessionColumns +
            " FROM refresh_tokens t JOIN sessions s ON s.session_id = t.session_id "
            "WHERE t.token_hmac = $1 FOR UPDATE OF t",
        old_hmac);
    if (r.empty()) {
      result.outcome = RotateOutcome::kUnknown;
      return absl::OkStatus();
    }
    absl::Time idle_expires_at = TimeOf(r[0][0]);
    std::optional<absl::Time> used_at = OptTimeOf(r[0][1]);
    bool superseded = r[0][3].as<bool>();
    result.session = SessionOf(r[0], 4);
    const Session& s = result.session;
    auto store_next = [&] {
      pg::ExecPrepared(tx,
          "INSERT INTO refresh_tokens (token_hmac, session_id, created_at, idle_expires_at) "
          "VALUES ($1, $2::uuid, " TS(3) ", LEAST(" TS(4) ", " TS(5) "))",
          next.token_hmac, s.session_id, Us(next.created_at), Us(next.idle_expires_at),
          Us(s.expires_at));
    };
    if (used_at.has_value() || superseded) {
      bool in_grace = !superseded && !r[0][2].is_null() && reuse_grace > absl::ZeroDuration() &&
                      now - *used_at < reuse_grace && !s.revoked_at.has_value() &&
                      now < s.expires_at;
      // Grace replay: the successor is superseded only while nobody has used it (the UPDATE
      // waits for a concurrent rotation of the successor and re-checks its row).
      if (in_grace &&
          pg::ExecPrepared(tx,
                           "UPDATE refresh_tokens SET superseded_at = " TS(2)
                           " WHERE token_hmac = $1 AND used_at IS NULL AND superseded_at IS NULL",
                           r[0][2].as<std::string>(), Us(now))
                  .affected_rows() == 1) {
        // The window counts from the first rotation (used_at stays): replays cannot extend it.
        pg::ExecPrepared(tx, "UPDATE refresh_tokens SET replaced_by = $2 WHERE token_hmac = $1",
                         old_hmac, next.token_hmac);
        store_next();
        result.outcome = RotateOutcome::kGraceReplay;
        return absl::OkStatus();
      }
      pg::ExecPrepared(tx,
          "UPDATE sessions SET revoked_at = COALESCE(revoked_at, " TS(2) "), "
          "revoke_reason = COALESCE(revoke_reason, 'REFRESH_TOKEN_REUSED') "
          "WHERE session_id = $1::uuid",
          s.session_id, Us(now));
      result.outcome = RotateOutcome::kReused;
      return absl::OkStatus();  // commit the revocation
    }
    if (s.revoked_at.has_value()) {
      result.outcome = RotateOutcome::kRevoked;
      return absl::OkStatus();
    }
    if (now >= idle_expires_at || now >= s.expires_at) {
      result.outcome = RotateOutcome::kExpired;
      return absl::OkStatus();
    }
    pg::ExecPrepared(tx,
        "UPDATE refresh_tokens SET used_at = " TS(2) ", replaced_by = $3 WHERE token_hmac = $1",
        old_hmac, Us(now), next.token_hmac);
    store_next();
    result.outcome = RotateOutcome::kRotated;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return result;
}

absl::StatusOr<std::optional<std::string>> PgAuthStore::RevokeSessionByRefresh(
    const std::string& token_hmac, absl::Time now, const std::string& reason) {
  std::optional<std::string> sid;
  absl::Status st = pool_->WithTransaction([&](pqxx::work& tx) {
    sid.reset();
    pqxx::result r = pg::ExecPrepared(tx, 
        "UPDATE sessions SET revoked_at = COALESCE(revoked_at, " TS(2) "), "
        "revoke_reason = COALESCE(revoke_reason, $3) "
        "WHERE session_id = (SELECT session_id FROM refresh_tokens WHERE token_hmac = $1) "
        "RETURNING session_id::text",
        token_hmac, Us(now), reason);
    if (!r.empty()) sid = r[0][0].as<std::string>();
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return sid;
}

absl::StatusOr<SessionState> PgAuthStore::GetSessionState(const std::string& session_id) {
  SessionState state;
  if (!IsUuid(session_id)) return state;
  absl::Status st = pool_->WithReadOnly([&](pqxx::work& tx) {
    state = SessionState{};
    pqxx::result r = pg::ExecPrepared(tx, 
        "SELECT " US("expires_at") ", revoked_at IS NOT NULL FROM sessions "
        "WHERE session_id = $1::uuid",
        session_id);
    if (r.empty()) return absl::OkStatus();
    state.exists = true;
    state.expires_at = TimeOf(r[0][0]);
    state.revoked = r[0][1].as<bool>();
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return state;
}

absl::StatusOr<std::vector<std::string>> PgAuthStore::RevokeSessionsOfAccount(
    const std::string& account_id, absl::Time created_before, absl::Time now,
    const std::string& reason) {
  std::vector<std::string> revoked;
  if (!IsUuid(account_id)) return revoked;
  absl::Status st = pool_->WithTransaction([&](pqxx::work& tx) {
    revoked.clear();
    pqxx::result r = pg::ExecPrepared(tx,
        "UPDATE sessions SET revoked_at = " TS(3) ", revoke_reason = $4 "
        "WHERE account_id = $1::uuid AND revoked_at IS NULL AND created_at < " TS(2)
        " AND expires_at > " TS(3) " RETURNING session_id::text",
        absl::AsciiStrToLower(account_id), Us(created_before), Us(now), reason);
    for (const auto& row : r) revoked.push_back(row[0].as<std::string>());
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  std::sort(revoked.begin(), revoked.end());
  return revoked;
}

absl::StatusOr<int64_t> PgAuthStore::PurgeExpired(absl::Time now, absl::Duration keep,
                                                  absl::Duration trust_keep) {
  int64_t n = 0;
  absl::Status st = pool_->WithTransaction([&](pqxx::work& tx) {
    n = 0;
    std::string cutoff = Us(now - keep);
    n +=
        pg::ExecPrepared(tx, "DELETE FROM login_flows WHERE expires_at < " TS(1), cutoff).affected_rows();
    n += pg::ExecPrepared(tx, "DELETE FROM refresh_tokens WHERE idle_expires_at < " TS(1), cutoff)
             .affected_rows();
    n += pg::ExecPrepared(tx, "DELETE FROM sessions WHERE expires_at < " TS(1), cutoff).affected_rows();
    n += pg::ExecPrepared(tx, "DELETE FROM rate_windows WHERE window_start < " TS(1),
                        Us(now - absl::Hours(24)))
             .affected_rows();
    n += pg::ExecPrepared(tx, 
               "DELETE FROM login_throttles WHERE COALESCE(blocked_until, '-infinity') < " TS(1)
               " AND COALESCE(last_failure_at, '-infinity') < " TS(1)
               " AND COALESCE(last_success_at, '-infinity') < " TS(2),
               cutoff, Us(now - trust_keep))
             .affected_rows();
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return n;
}

}  // namespace dvc::auth
