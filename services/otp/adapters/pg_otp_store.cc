#include "services/otp/adapters/pg_otp_store.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/pg/arrays.h"

namespace dvc::otp {
namespace {

// Times travel as integer microseconds since the Unix epoch (PostgreSQL's precision).
int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }
std::string Ts(int n) {
  return absl::StrCat("(timestamptz 'epoch' + $", n, "::bigint * interval '1 microsecond')");
}
std::string Col(const std::string& c) {
  return "(extract(epoch from " + c + ") * 1000000)::bigint";
}

const char* DeliveryName(Delivery d) {
  switch (d) {
    case Delivery::kPending: return "PENDING";
    case Delivery::kSent: return "SENT";
    case Delivery::kFailed: return "FAILED";
  }
  return "PENDING";
}
Delivery DeliveryFrom(const std::string& s) {
  if (s == "SENT") return Delivery::kSent;
  if (s == "FAILED") return Delivery::kFailed;
  return Delivery::kPending;
}

std::string SelectColumns() {
  return "id::text, request_id, purpose, phone_sealed, phone_index, subject_index, code_hmac, "
         "seq, delivery, attempts_left, deliveries, " +
         Col("created_at") + ", " + Col("expires_at") + ", " + Col("resend_after") + ", " +
         Col("used_at") + ", used_key";
}

Challenge FromRow(const pqxx::row& r) {
  Challenge c;
  c.id = r[0].as<std::string>();
  c.request_id = r[1].as<std::string>();
  c.purpose = r[2].as<std::string>();
  c.phone_sealed = r[3].as<std::string>();
  c.phone_index = r[4].as<std::string>();
  c.subject_index = r[5].as<std::string>();
  c.code_hmac = r[6].as<std::string>();
  c.seq = r[7].as<int>();
  c.delivery = DeliveryFrom(r[8].as<std::string>());
  c.attempts_left = r[9].as<int>();
  c.deliveries = r[10].as<int>();
  c.created_at = FromMicros(r[11].as<int64_t>());
  c.expires_at = FromMicros(r[12].as<int64_t>());
  c.resend_after = FromMicros(r[13].as<int64_t>());
  if (!r[14].is_null()) c.used_at = FromMicros(r[14].as<int64_t>());
  if (!r[15].is_null()) c.used_key = r[15].as<std::string>();
  return c;
}

class PgTx final : public OtpTx {
 public:
  explicit PgTx(pqxx::transaction_base& tx) : tx_(tx) {}

  absl::StatusOr<std::optional<Challenge>> LockById(const std::string& id) override {
    pqxx::result r = pg::ExecPrepared(tx_, 
        "SELECT " + SelectColumns() + " FROM otp_challenges WHERE id = $1::uuid FOR UPDATE", id);
    if (r.empty()) return std::optional<Challenge>();
    return std::optional<Challenge>(FromRow(r[0]));
  }

  absl::StatusOr<std::optional<Challenge>> LockByRequestId(const std::string& rid) override {
    pqxx::result r = pg::ExecPrepared(tx_, "SELECT " + SelectColumns() +
                                         " FROM otp_challenges WHERE request_id = $1 FOR UPDATE",
                                     rid);
    if (r.empty()) return std::optional<Challenge>();
    return std::optional<Challenge>(FromRow(r[0]));
  }

  absl::StatusOr<bool> InsertIfAbsent(const Challenge& c) override {
    const std::string used = UsedAt(c);
    static const std::string kSql = InsertChallengeSql();
    pqxx::result r = pg::ExecPrepared(tx_, kSql,
        c.id, c.request_id, c.purpose, c.phone_sealed, c.phone_index, c.subject_index,
        c.code_hmac, c.seq, DeliveryName(c.delivery), c.attempts_left, c.deliveries,
        Micros(c.created_at), Micros(c.expires_at), Micros(c.resend_after), UsedParam(c, used),
        c.used_key);
    return r.affected_rows() == 1;
  }

  // One round trip fewer than the two calls: the challenge insert and the key locks are one
  // statement (the keys are locked only when the challenge is new); the count that follows is
  // a statement of its own, so that its snapshot is taken after the locks were granted.
  absl::StatusOr<InsertedSend> InsertIfAbsentAndRecordSend(const Challenge& c,
                                                           const std::vector<SendLimit>& limits,
                                                           absl::Time now) override {
    const Limits l = SortedLimits(limits, now);
    const std::string used = UsedAt(c);
    static const std::string kSql =
        "WITH ch AS (" + InsertChallengeSql() + " RETURNING 1), "
        "k AS (INSERT INTO otp_send_keys (key) SELECT k FROM unnest($17::text[]) "
        "WITH ORDINALITY AS u(k, n) WHERE EXISTS (SELECT 1 FROM ch) ORDER BY n "
        "ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key) "
        "SELECT count(*) FROM ch";
    pqxx::row r = pg::ExecPrepared1(tx_, kSql,
        c.id, c.request_id, c.purpose, c.phone_sealed, c.phone_index, c.subject_index,
        c.code_hmac, c.seq, DeliveryName(c.delivery), c.attempts_left, c.deliveries,
        Micros(c.created_at), Micros(c.expires_at), Micros(c.resend_after), UsedParam(c, used),
        c.used_key, pg::TextArray(l.keys));
    InsertedSend out;
    out.inserted = r[0].as<int>() == 1;
    if (!out.inserted) return out;
    auto wait = CountAndRecord(l, now, c.id, c.seq);
    if (!wait.ok()) return wait.status();
    out.wait = *wait;
    return out;
  }

  absl::Status Update(const Challenge& c) override {
    const std::string used_text = UsedAt(c);
    const char* used = UsedParam(c, used_text);
    pqxx::result r = pg::ExecPrepared(tx_, 
        "UPDATE otp_challenges SET code_hmac = $2, seq = $3, delivery = $4, attempts_left = $5, "
        "deliveries = $6, expires_at = " + Ts(7) + ", resend_after = " + Ts(8) +
        ", used_at = " + Ts(9) + ", used_key = NULLIF($10, '') WHERE id = $1::uuid",
        c.id, c.code_hmac, c.seq, DeliveryName(c.delivery), c.attempts_left, c.deliveries,
        Micros(c.expires_at), Micros(c.resend_after), used, c.used_key);
    if (r.affected_rows() != 1) return absl::NotFoundError("otp challenge vanished");
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<absl::Duration>> TryRecordSend(
      const std::vector<SendLimit>& limits, absl::Time now, const std::string& challenge_id,
      int seq) override {
    const Limits l = SortedLimits(limits, now);
    // 1. Create-or-lock every key, in sorted order (no deadlock between two multi-key sends).
    pg::ExecPrepared(tx_,
                     "INSERT INTO otp_send_keys (key) SELECT k FROM unnest($1::text[]) "
                     "WITH ORDINALITY AS u(k, n) ORDER BY n "
                     "ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key",
                     pg::TextArray(l.keys));
    return CountAndRecord(l, now, challenge_id, seq);
  }

 private:
  struct Limits {
    std::vector<SendLimit> sorted;  // by key: the order keys are locked in
    std::vector<std::string> keys;
    std::vector<int> caps;
    std::vector<int64_t> since;  // start of each key's window, µs since the epoch
  };

  static Limits SortedLimits(const std::vector<SendLimit>& limits, absl::Time now) {
    Limits l;
    l.sorted = limits;
    std::sort(l.sorted.begin(), l.sorted.end(),
              [](const SendLimit& a, const SendLimit& b) { return a.key < b.key; });
    for (const SendLimit& x : l.sorted) {
      l.keys.push_back(x.key);
      l.caps.push_back(x.limit);
      l.since.push_back(Micros(now - x.window));
    }
    return l;
  }

  // The challenge insert ($1–$16), ON CONFLICT (request_id) DO NOTHING.
  static std::string InsertChallengeSql() {
    return "INSERT INTO otp_challenges (id, request_id, purpose, phone_sealed, phone_index, "
           "subject_index, code_hmac, seq, delivery, attempts_left, deliveries, created_at, "
           "expires_at, resend_after, used_at, used_key) VALUES ($1::uuid, $2, $3, $4, $5, $6, "
           "$7, $8, $9, $10, $11, " + Ts(12) + ", " + Ts(13) + ", " + Ts(14) + ", " + Ts(15) +
           ", NULLIF($16, '')) ON CONFLICT (request_id) DO NOTHING";
  }

  // libpqxx 6 has no std::optional parameters: a null const char* is SQL NULL.
  static std::string UsedAt(const Challenge& c) {
    return c.used_at ? absl::StrCat(Micros(*c.used_at)) : "";
  }
  static const char* UsedParam(const Challenge& c, const std::string& used) {
    return c.used_at ? used.c_str() : nullptr;
  }

  // Step 2 of TryRecordSend, with the keys locked.
  absl::StatusOr<std::optional<absl::Duration>> CountAndRecord(const Limits& l, absl::Time now,
                                                               const std::string& challenge_id,
                                                               int seq) {
    // 2. One statement, whose snapshot is taken after the locks were granted (so it sees every
    // send committed before): each key's count in its window; the send is recorded under every
    // key only when none is full; for a full key, the time of the send that has to leave the
    // window before one more fits.
    pqxx::result r = pg::ExecPrepared(
        tx_,
        "WITH l AS (SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) AS l(key, cap, since)), "
        "c AS (SELECT l.key, l.cap, l.since, (SELECT count(*) FROM otp_sends s WHERE s.key = l.key "
        "AND s.at > (timestamptz 'epoch' + l.since * interval '1 microsecond')) AS n FROM l), "
        "full_keys AS (SELECT * FROM c WHERE n >= cap), "
        "ins AS (INSERT INTO otp_sends (key, at, challenge_id, seq) SELECT key, " + Ts(4) +
            ", $5::uuid, $6 FROM l WHERE NOT EXISTS (SELECT 1 FROM full_keys)) "
        "SELECT f.key, (SELECT " + Col("s.at") + " FROM otp_sends s WHERE s.key = f.key AND "
        "s.at > (timestamptz 'epoch' + f.since * interval '1 microsecond') ORDER BY s.at "
        "OFFSET f.n - f.cap LIMIT 1) FROM full_keys f",
        pg::TextArray(l.keys), pg::IntArray(l.caps), pg::IntArray(l.since), Micros(now), challenge_id,
        seq);
    std::optional<absl::Duration> wait;
    for (const pqxx::row& row : r) {
      const std::string key = row[0].as<std::string>();
      const auto x = std::find_if(l.sorted.begin(), l.sorted.end(),
                                  [&](const SendLimit& y) { return y.key == key; });
      if (x == l.sorted.end() || row[1].is_null()) return absl::InternalError("send limit row");
      absl::Duration w = FromMicros(row[1].as<int64_t>()) + x->window - now;
      if (!wait || w > *wait) wait = w;
    }
    return wait;
  }

  pqxx::transaction_base& tx_;
};

}  // namespace

absl::Status PgOtpStore::InTransaction(Commit commit,
                                       const std::function<absl::Status(OtpTx&)>& fn) {
  if (commit == Commit::kLossTolerable) {
    return pool_->WithAsyncCommit([&](pqxx::transaction_base& w) -> absl::Status {
      PgTx tx(w);
      return fn(tx);
    });
  }
  return pool_->WithTransaction([&](pqxx::work& w) -> absl::Status {
    PgTx tx(w);
    return fn(tx);
  });
}

absl::StatusOr<std::optional<Challenge>> PgOtpStore::RecordDelivery(
    const std::string& challenge_id, int seq, DeliveryOutcome outcome, absl::Time at) {
  const char* name = outcome == DeliveryOutcome::kSent ? "SENT" : "FAILED";
  std::optional<Challenge> out;
  // One statement (atomic, no BEGIN/COMMIT); repeating it changes nothing more.
  absl::Status s = pool_->WithStatement([&](pqxx::transaction_base& tx) -> absl::Status {
    out.reset();
    pqxx::result r = pg::ExecPrepared(
        tx,
        "WITH cur AS (SELECT id FROM otp_challenges WHERE id = $1::uuid), "
        "upd AS (UPDATE otp_challenges SET delivery = $3, "
        "deliveries = deliveries + CASE WHEN $3 = 'SENT' THEN 1 ELSE 0 END "
        "WHERE id = $1::uuid AND seq = $2 AND delivery = 'PENDING' RETURNING " + SelectColumns() +
            "), "
        "refund AS (DELETE FROM otp_sends WHERE $3 = 'FAILED' AND challenge_id = $1::uuid AND "
        "seq = $2 AND EXISTS (SELECT 1 FROM cur)), "
        "log AS (INSERT INTO otp_deliveries (challenge_id, attempt, outcome, at) "
        "SELECT id, $2, $3, " + Ts(4) + " FROM cur ON CONFLICT (challenge_id, attempt) "
        "DO UPDATE SET outcome = EXCLUDED.outcome, at = EXCLUDED.at) "
        "SELECT * FROM upd UNION ALL SELECT " + SelectColumns() + " FROM otp_challenges "
        "WHERE id = $1::uuid AND NOT EXISTS (SELECT 1 FROM upd)",
        challenge_id, seq, name, Micros(at));
    if (!r.empty()) out = FromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<int64_t> PgOtpStore::Purge(absl::Time challenges_before, absl::Time sends_before,
                                          absl::Time log_before) {
  int64_t deleted = 0;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    pqxx::result r = pg::ExecPrepared(tx, "DELETE FROM otp_challenges WHERE expires_at < " + Ts(1),
                                    Micros(challenges_before));
    deleted = r.affected_rows();
    pg::ExecPrepared(tx, "DELETE FROM otp_sends WHERE at < " + Ts(1), Micros(sends_before));
    tx.exec("DELETE FROM otp_send_keys k WHERE NOT EXISTS "
            "(SELECT 1 FROM otp_sends s WHERE s.key = k.key)");
    pg::ExecPrepared(tx, "DELETE FROM otp_deliveries WHERE at < " + Ts(1), Micros(log_before));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return deleted;
}

}  // namespace dvc::otp
