// PostgreSQL connection pool and transaction helper on libpqxx 6.4.
//
//   dvc::pg::Pool pool({.url = database_url, .size = 8});
//   absl::Status s = pool.WithTransaction([&](pqxx::work& tx) -> absl::Status {
//     tx.exec_params("INSERT INTO accounts(id, email) VALUES ($1, $2)", id, email);
//     return absl::OkStatus();
//   });
//   if (dvc::pg::IsUniqueViolation(s)) { /* UniqueViolationConstraint(s) == "accounts_email_key" */ }
//
// Connections are opened lazily (up to `size`), handed out as RAII leases, and a connection that
// broke is dropped and replaced on the next acquisition. No libpqxx exception escapes
// WithTransaction: it commits when the function returns OK, rolls back otherwise, retries the
// whole function on serialization failure/deadlock (SQLSTATE 40001/40P01), and maps the rest:
//   unique violation (23505)  -> ALREADY_EXISTS, reason DB_UNIQUE_VIOLATION, metadata constraint=
//   retries exhausted          -> ABORTED, reason DB_CONFLICT
//   connection lost / refused  -> UNAVAILABLE, reason DB_UNAVAILABLE
//   commit outcome unknown     -> UNAVAILABLE, reason DB_COMMIT_IN_DOUBT
//   pool exhausted (timeout)   -> UNAVAILABLE, reason DB_POOL_EXHAUSTED
//   anything else              -> dvc::status::Internal(), the cause logged (SQLSTATE and the
//                                 first line of the server message, quoted values redacted; never
//                                 parameter values).
// The function may run several times: it must not have side effects outside the transaction.
// Do not swallow a libpqxx exception inside it and return OK: the server has aborted the
// transaction, and libpqxx 6 may report the final COMMIT (answered by ROLLBACK) as success.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include <pqxx/pqxx>

namespace dvc::pg {

struct PoolOptions {
  std::string url;  // libpq URL or key=value conninfo
  int size = 8;     // maximum number of connections
  absl::Duration acquire_timeout = absl::Seconds(5);  // used by WithTransaction
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  Isolation isolation = Isolation::kReadCommitted;
  int retries = 3;         // extra attempts on 40001/40P01 (and once on a stale connection)
  bool read_only = false;  // SET TRANSACTION READ ONLY
};

class Pool;

// A connection borrowed from the pool; returned on destruction.
class Lease final {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  pqxx::connection& conn() { return *conn_; }
  pqxx::connection* operator->() { return conn_; }
  // The connection is discarded instead of reused (e.g. after a broken_connection).
  void MarkBroken() { broken_ = true; }
  // True when the connection was opened for this lease (not reused from the pool).
  bool fresh() const { return fresh_; }

 private:
  friend class Pool;
  Lease(Pool* pool, int slot, pqxx::connection* conn, bool fresh)
      : pool_(pool), slot_(slot), conn_(conn), fresh_(fresh) {}
  void Release();

  Pool* pool_ = nullptr;
  int slot_ = -1;
  pqxx::connection* conn_ = nullptr;
  bool fresh_ = false;
  bool broken_ = false;
};

class Pool final {
 public:
  explicit Pool(PoolOptions options);
  ~Pool();  // all leases must have been returned
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Borrows a connection, opening one if needed; waits up to `timeout` for a free slot.
  absl::StatusOr<Lease> Acquire(absl::Duration timeout);

  // Runs `fn` in a transaction; see the file comment for commit/retry/error semantics.
  absl::Status WithTransaction(const std::function<absl::Status(pqxx::work&)>& fn,
                               TxOptions options = {});
  // A read-only read-committed transaction.
  absl::Status WithReadOnly(const std::function<absl::Status(pqxx::work&)>& fn);

  // Runs `fn` in a read-committed transaction whose COMMIT does not wait for the WAL flush
  // (PostgreSQL's asynchronous commit: SET LOCAL synchronous_commit = off, sent with BEGIN in
  // one round trip). Otherwise exactly WithTransaction (retries, error mapping). Only for state
  // whose loss in a crash of the database server is tolerable — rate windows, throttle counters,
  // captcha use, login flows, OTP issue and delivery state: after such a crash the transactions
  // committed in the last ~3 × wal_writer_delay (600 ms by default) may be missing, each entirely
  // (never half-applied), in commit order. Never for accounts, credentials, sessions, tokens or
  // the consumption of a one-time secret (a lost consumption would make it usable again).
  absl::Status WithAsyncCommit(const std::function<absl::Status(pqxx::transaction_base&)>& fn,
                               int retries = 3);

  // Runs `fn` without BEGIN/COMMIT: each statement it executes commits on its own (PostgreSQL's
  // autocommit; a single statement, including a data-modifying WITH, is atomic). For the hot
  // paths whose work is ONE statement, it saves the two round trips of a transaction. `fn` must
  // be idempotent (a read, or a write with the same effect when repeated): like WithTransaction
  // it is retried once on a pooled connection found dead and up to `retries` times on a
  // deadlock; errors are mapped the same way.
  absl::Status WithStatement(const std::function<absl::Status(pqxx::transaction_base&)>& fn,
                             int retries = 3);

  // Opens a connection (if none is idle) and runs SELECT 1.
  absl::Status Ping();

  int Size() const { return options_.size; }  // capacity
  int InUse() const;                          // leased now
  int Open() const;                           // connections currently open
  const std::string& url() const { return options_.url; }

 private:
  friend class Lease;
  void Return(int slot, bool broken);
  // The acquisition, retry and error-mapping loop shared by WithTransaction and WithStatement.
  // `attempt` sets *committing once the outcome may be in doubt if the connection breaks.
  absl::Status RunWithRetries(
      const std::function<absl::Status(pqxx::connection&, bool* committing)>& attempt,
      int retries, absl::string_view what);

  const PoolOptions options_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> conns_;  // by slot; null = not open
  std::vector<int> free_ ABSL_GUARDED_BY(mu_);           // idle slots (stack)
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> open_{0};
};

// Maps the exception `e` as WithTransaction does (logging the cause of INTERNAL errors).
// `what` names the operation in the log line, e.g. "outbox.enqueue".
absl::Status StatusFromException(const std::exception& e, absl::string_view what);

bool IsUniqueViolation(const absl::Status& s);

// The statement name ExecPrepared uses for `sql` (a hash of the text).
std::string PreparedName(const std::string& sql);

// Runs `sql` with `args` as a prepared statement of the transaction's connection, prepared on
// that connection the first time it is used there: PostgreSQL then parses and plans it once per
// connection instead of on every call (the hot paths run the same few statements thousands of
// times a second; the pool's connections use generic plans only, plan_cache_mode =
// force_generic_plan). Same semantics as tx.exec_params otherwise. Every service store uses it.
template <typename... Args>
pqxx::result ExecPrepared(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
  const std::string name = PreparedName(sql);
  tx.conn().prepare(name, sql);  // a no-op once defined with this text on this connection
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

// ExecPrepared for a statement that must return exactly one row (like exec_params1).
template <typename... Args>
pqxx::row ExecPrepared1(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
  const std::string name = PreparedName(sql);
  tx.conn().prepare(name, sql);
  return tx.exec_prepared1(name, std::forward<Args>(args)...);
}
// The violated constraint's name ("" if unknown or not a unique violation).
std::string UniqueViolationConstraint(const absl::Status& s);

inline constexpr char kReasonUniqueViolation[] = "DB_UNIQUE_VIOLATION";
inline constexpr char kReasonConflict[] = "DB_CONFLICT";
inline constexpr char kReasonUnavailable[] = "DB_UNAVAILABLE";
inline constexpr char kReasonCommitInDoubt[] = "DB_COMMIT_IN_DOUBT";
inline constexpr char kReasonPoolExhausted[] = "DB_POOL_EXHAUSTED";

}  // namespace dvc::pg
