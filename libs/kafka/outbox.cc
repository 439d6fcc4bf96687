#include "libs/kafka/outbox.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/logging/log.h"
#include "libs/pg/arrays.h"
#include "libs/status/errors.h"

namespace dvc::kafka {
namespace {

// Transaction-scoped advisory lock: one relay publishes at a time per database.
constexpr int64_t kRelayLockKey = 0x6476635f6f757462;  // "dvc_outb"

absl::Status InvalidEvent(absl::string_view field, absl::string_view en) {
  return dvc::status::InvalidArgument("OUTBOX_EVENT_INVALID", field,
                                      "Sự kiện không hợp lệ.", en);
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

void AppendJsonString(std::string* out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string HeadersJson(const Headers& headers) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : headers) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, k);
    out.push_back(':');
    AppendJsonString(&out, v);
  }
  out.push_back('}');
  return out;
}

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, std::atomic<bool>* flag)
      : pqxx::notification_receiver(c, kOutboxChannel), flag_(flag) {}
  void operator()(const std::string&, int) override { flag_->store(true); }

 private:
  std::atomic<bool>* flag_;
};

}  // namespace

absl::Status EnqueueEvent(pqxx::work& tx, const OutboxEvent& e) {
  if (!IsUuid(e.event_id)) return InvalidEvent("event_id", "event_id must be a UUID");
  if (e.topic.empty()) return InvalidEvent("topic", "topic is required");
  try {
    tx.exec_params(
        "INSERT INTO outbox (event_id, topic, event_key, payload, headers) "
        "VALUES ($1::uuid, $2, $3, $4, $5::jsonb)",
        e.event_id, e.topic, e.key, pqxx::binarystring(e.payload.data(), e.payload.size()),
        HeadersJson(e.headers));
    tx.exec_params("SELECT pg_notify($1, '')", std::string(kOutboxChannel));
  } catch (const std::exception& ex) {
    return pg::StatusFromException(ex, "outbox.enqueue");
  }
  return absl::OkStatus();
}

OutboxRelay::OutboxRelay(pg::Pool* pool, OutboxRelayOptions options)
    : pool_(pool), options_(std::move(options)) {}

OutboxRelay::~OutboxRelay() { Stop(); }

absl::Status OutboxRelay::EnsureProducer() {
  if (producer_ != nullptr && producer_->HasFatalError()) {
    dvc::log::Error("outbox.producer_recreated");
    producer_.reset();
  }
  if (producer_ == nullptr) {
    auto p = Producer::Create(options_.producer);
    if (!p.ok()) return p.status();
    producer_ = std::move(*p);
  }
  return absl::OkStatus();
}

absl::Status OutboxRelay::Start() {
  {
    absl::MutexLock l(&publish_mu_);
    if (absl::Status s = EnsureProducer(); !s.ok()) return s;
  }
  if (thread_.joinable()) return absl::FailedPreconditionError("outbox relay already started");
  {
    absl::MutexLock l(&stop_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void OutboxRelay::Stop(absl::Duration drain_timeout) {
  {
    absl::MutexLock l(&stop_mu_);
    stop_ = true;
    drain_timeout_ = drain_timeout;
  }
  if (thread_.joinable()) thread_.join();
  receiver_.reset();
  listen_conn_.reset();
  absl::MutexLock l(&publish_mu_);
  producer_.reset();  // flushes
}

absl::StatusOr<int> OutboxRelay::PublishOnce() {
  absl::MutexLock l(&publish_mu_);
  if (absl::Status s = EnsureProducer(); !s.ok()) return s;
  auto lease = pool_->Acquire(absl::Seconds(5));
  if (!lease.ok()) return lease.status();
  try {
    pqxx::work tx(lease->conn());
    if (!tx.exec1(absl::StrCat("SELECT pg_try_advisory_xact_lock(", kRelayLockKey, ")"))[0]
             .as<bool>()) {
      return 0;  // another relay is publishing
    }
    pqxx::result rows = tx.exec_params(
        "SELECT id, event_id::text, topic, event_key, payload FROM outbox "
        "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        options_.batch_size);
    if (rows.empty()) {
      tx.commit();
      return 0;
    }
    std::vector<int64_t> ids;
    std::vector<Message> messages;
    std::map<int64_t, size_t> index;
    for (const auto& row : rows) {
      int64_t id = row[0].as<int64_t>();
      index[id] = messages.size();
      ids.push_back(id);
      Message m;
      m.topic = row[2].as<std::string>();
      m.key = row[3].as<std::string>();
      m.value = pqxx::binarystring(row[4]).str();
      m.headers.emplace_back("event_id", row[1].as<std::string>());
      messages.push_back(std::move(m));
    }
    pqxx::result hdrs = tx.exec_params(
        "SELECT o.id, h.key, COALESCE(h.value, '') FROM outbox o "
        "CROSS JOIN LATERAL jsonb_each_text(o.headers) h "
        "WHERE o.id = ANY($1::bigint[]) ORDER BY o.id, h.key",
        pg::IntArray(ids));
    for (const auto& row : hdrs) {
      auto& m = messages[index.at(row[0].as<int64_t>())];
      std::string k = row[1].as<std::string>();
      if (k != "event_id") m.headers.emplace_back(std::move(k), row[2].as<std::string>());
    }

    std::vector<DeliveryReport> reports = producer_->ProduceBatch(messages);
    std::vector<int64_t> delivered;
    absl::Status first_failure;
    for (size_t i = 0; i < reports.size(); ++i) {
      if (reports[i].status.ok()) {
        delivered.push_back(ids[i]);
      } else if (first_failure.ok()) {
        first_failure = reports[i].status;
      }
    }
    if (!delivered.empty()) {
      tx.exec_params("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                     pg::IntArray(delivered));
    }
    tx.commit();
    published_ += static_cast<int64_t>(delivered.size());
    const int64_t failed = static_cast<int64_t>(ids.size() - delivered.size());
    failed_ += failed;
    if (!first_failure.ok()) {
      dvc::log::Warn("outbox.publish_failed",
                     {{"published", absl::StrCat(delivered.size())},
                      {"failed", absl::StrCat(failed)},
                      {"error", std::string(first_failure.message())}});
      return first_failure;
    }
    return static_cast<int>(delivered.size());
  } catch (const std::exception& e) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) lease->MarkBroken();
    return pg::StatusFromException(e, "outbox.publish");
  }
}

void OutboxRelay::Run() {
  absl::Duration backoff = options_.min_backoff;
  auto stopping = [this] {
    absl::MutexLock l(&stop_mu_);
    return stop_;
  };
  while (!stopping()) {
    absl::StatusOr<int> r = PublishOnce();
    if (!r.ok()) {
      dvc::log::Warn("outbox.retry", {{"reason", dvc::status::ReasonOf(r.status())},
                                      {"backoff_ms", absl::StrCat(absl::ToInt64Milliseconds(backoff))}});
      absl::MutexLock l(&stop_mu_);
      stop_mu_.AwaitWithTimeout(absl::Condition(&stop_), backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    backoff = options_.min_backoff;
    PurgeOld();
    if (*r >= options_.batch_size) continue;  // more may be waiting
    WaitForWork(options_.poll_interval);
  }
  absl::Duration drain;
  {
    absl::MutexLock l(&stop_mu_);
    drain = drain_timeout_;
  }
  const absl::Time deadline = absl::Now() + drain;
  while (absl::Now() < deadline) {
    absl::StatusOr<int> r = PublishOnce();
    if (!r.ok() || *r == 0) break;
  }
}

void OutboxRelay::WaitForWork(absl::Duration max_wait) {
  const absl::Time deadline = absl::Now() + max_wait;
  if (options_.listen) {
    try {
      if (listen_conn_ == nullptr) {
        listen_conn_ = std::make_unique<pqxx::connection>(pool_->url());
        receiver_ = std::make_unique<Receiver>(*listen_conn_, &notified_);
      }
      while (!notified_.load() && absl::Now() < deadline) {
        {
          absl::MutexLock l(&stop_mu_);
          if (stop_) break;
        }
        listen_conn_->await_notification(0, 100000);
      }
      notified_ = false;
      return;
    } catch (const std::exception& e) {
      dvc::log::Warn("outbox.listen_failed", {{"error", e.what()}});
      try {
        receiver_.reset();
      } catch (...) {
      }
      listen_conn_.reset();
    }
  }
  absl::MutexLock l(&stop_mu_);
  stop_mu_.AwaitWithTimeout(absl::Condition(&stop_), std::max(absl::ZeroDuration(),
                                                              deadline - absl::Now()));
}

void OutboxRelay::PurgeOld() {
  if (options_.retention <= absl::ZeroDuration()) return;
  if (absl::Now() - last_purge_ < absl::Minutes(1)) return;
  last_purge_ = absl::Now();
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec_params(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at IS NOT NULL "
        "AND published_at < now() - make_interval(secs => $1) ORDER BY id LIMIT 1000)",
        absl::ToDoubleSeconds(options_.retention));
    return absl::OkStatus();
  });
  if (!s.ok()) dvc::log::Warn("outbox.purge_failed", {{"reason", dvc::status::ReasonOf(s)}});
}

absl::StatusOr<OutboxStats> OutboxRelay::Stats() {
  OutboxStats st;
  st.published_total = published_.load();
  st.failed_total = failed_.load();
  absl::Status s = pool_->WithReadOnly([&](pqxx::work& tx) {
    pqxx::row r = tx.exec1(
        "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 "
        "FROM outbox WHERE published_at IS NULL");
    st.unpublished = r[0].as<int64_t>();
    st.oldest_unpublished_age_s = r[1].as<double>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return st;
}

}  // namespace dvc::kafka
