#include "libs/pg/migrate.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include <pqxx/pqxx>

namespace dvc::pg {
namespace {

struct Migration {
  int64_t version;
  std::string name;
  const std::string* content;
  std::string checksum;
};

absl::Status Precondition(absl::string_view reason, std::string en,
                          std::map<std::string, std::string> metadata = {}) {
  return dvc::status::MakeError(
      absl::StatusCode::kFailedPrecondition,
      {std::string(reason), "", "Lược đồ cơ sở dữ liệu không hợp lệ.", std::move(en),
       std::move(metadata)});
}

absl::StatusOr<std::vector<Migration>> Parse(const std::vector<EmbeddedFile>& files) {
  std::vector<Migration> out;
  std::map<int64_t, std::string> seen;
  for (const auto& f : files) {
    size_t digits = 0;
    while (digits < f.name.size() && f.name[digits] >= '0' && f.name[digits] <= '9') ++digits;
    int64_t version = 0;
    if (digits == 0 || digits > 18 || digits >= f.name.size() || f.name[digits] != '_' ||
        !absl::EndsWith(f.name, ".sql") || f.name.size() <= digits + 1 + 4 ||
        !absl::SimpleAtoi(f.name.substr(0, digits), &version)) {
      return Precondition("MIGRATION_NAME_INVALID",
                          absl::StrCat("Migration file name \"", f.name,
                                       "\" is not NNNN_description.sql"),
                          {{"name", f.name}});
    }
    auto [it, inserted] = seen.emplace(version, f.name);
    if (!inserted) {
      return Precondition("MIGRATION_VERSION_DUPLICATE",
                          absl::StrCat("Migrations \"", it->second, "\" and \"", f.name,
                                       "\" share version ", version),
                          {{"version", absl::StrCat(version)}});
    }
    out.push_back({version, f.name, &f.content, Sha256Hex(f.content)});
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

constexpr char kCreateTable[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    BIGINT PRIMARY KEY,
  name       TEXT NOT NULL,
  checksum   TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
))sql";

absl::Status MigrateLocked(pqxx::connection& conn, const std::vector<Migration>& migrations,
                           MigrationReport* report) {
  std::map<int64_t, std::pair<std::string, std::string>> applied;  // version -> (name, checksum)
  {
    pqxx::work tx(conn);
    tx.exec(kCreateTable);
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations")) {
      applied[row[0].as<int64_t>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
    tx.commit();
  }
  std::set<int64_t> known;
  for (const auto& m : migrations) {
    known.insert(m.version);
    auto it = applied.find(m.version);
    if (it != applied.end() && it->second.second != m.checksum) {
      return Precondition(
          "MIGRATION_CHECKSUM_MISMATCH",
          absl::StrCat("Migration ", m.name, " was changed after it was applied (as ",
                       it->second.first, "); add a new migration instead of editing it"),
          {{"version", absl::StrCat(m.version)}, {"name", m.name}});
    }
  }
  for (const auto& [version, info] : applied) {
    if (!known.count(version)) {
      dvc::log::Warn("migrate.unknown_version_in_db",
                     {{"version", absl::StrCat(version)}, {"name", info.first}});
    }
  }
  for (const auto& m : migrations) {
    if (applied.count(m.version)) continue;
    try {
      pqxx::work tx(conn);
      tx.exec(*m.content);
      tx.exec_params("INSERT INTO schema_migrations(version, name, checksum) VALUES ($1, $2, $3)",
                     m.version, m.name, m.checksum);
      tx.commit();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const pqxx::sql_error& e) {
      dvc::log::Error("migrate.failed", {{"version", absl::StrCat(m.version)},
                                         {"name", m.name},
                                         {"sqlstate", e.sqlstate()}});
      // The server message is logged too: migrations carry no user data.
      dvc::log::Error("migrate.failed.detail", {{"error", e.what()}});
      return dvc::status::WithMetadata(dvc::status::MakeError(
          absl::StatusCode::kInternal,
          {"MIGRATION_FAILED", "", "Lỗi hệ thống.",
           absl::StrCat("Migration ", m.name, " failed (SQLSTATE ", e.sqlstate(), ")"), {}}),
          "version", absl::StrCat(m.version));
    }
    dvc::log::Info("migrate.applied", {{"version", absl::StrCat(m.version)}, {"name", m.name}});
    if (report != nullptr) report->applied.push_back(m.version);
    applied[m.version] = {m.name, m.checksum};
  }
  if (report != nullptr) report->current_version = applied.empty() ? 0 : applied.rbegin()->first;
  return absl::OkStatus();
}

}  // namespace

std::string Sha256Hex(const std::string& content) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(content.data(), content.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

absl::Status Migrate(Pool& pool, const std::vector<EmbeddedFile>& files, MigrationReport* report) {
  if (report != nullptr) *report = MigrationReport{};
  auto migrations = Parse(files);
  if (!migrations.ok()) return migrations.status();
  // The lock wait may be long (another replica migrating): no pool timeout on the lock itself.
  auto lease = pool.Acquire(absl::Seconds(30));
  if (!lease.ok()) return lease.status();
  pqxx::connection& conn = lease->conn();
  try {
    {
      pqxx::nontransaction tx(conn);
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")"));
    }
    absl::Status s;
    try {
      s = MigrateLocked(conn, *migrations, report);
    } catch (...) {
      try {
        pqxx::nontransaction tx(conn);
        tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
      } catch (...) {
        lease->MarkBroken();  // closing the session releases the lock
      }
      throw;
    }
    pqxx::nontransaction tx(conn);
    tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
    return s;
  } catch (const std::exception& e) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) lease->MarkBroken();
    return StatusFromException(e, "migrate");
  }
}

}  // namespace dvc::pg
