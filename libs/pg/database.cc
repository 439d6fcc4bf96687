#include "libs/pg/database.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/logging/log.h"
#include "libs/pg/pool.h"
#include "libs/status/errors.h"
#include <pqxx/pqxx>

namespace dvc::pg {
namespace {

absl::Status BadUrl() {
  return dvc::status::InvalidArgument("DB_URL_INVALID", "database_url",
                                      "Địa chỉ cơ sở dữ liệu không hợp lệ.",
                                      "The database URL is malformed.");
}

// Splits a key=value conninfo into (key, raw value) pairs; values may be single-quoted with
// backslash escapes. Returns false on malformed input.
bool ParseConninfo(absl::string_view s, std::vector<std::pair<std::string, std::string>>* out) {
  size_t i = 0;
  auto skip_ws = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i; };
  for (;;) {
    skip_ws();
    if (i >= s.size()) return true;
    size_t k = i;
    while (i < s.size() && s[i] != '=' && s[i] != ' ') ++i;
    std::string key(s.substr(k, i - k));
    skip_ws();
    if (i >= s.size() || s[i] != '=' || key.empty()) return false;
    ++i;
    skip_ws();
    std::string raw;
    if (i < s.size() && s[i] == '\'') {
      size_t start = i++;
      while (i < s.size() && s[i] != '\'') i += (s[i] == '\\') ? 2 : 1;
      if (i >= s.size()) return false;
      ++i;
      raw = std::string(s.substr(start, i - start));
    } else {
      size_t start = i;
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
      raw = std::string(s.substr(start, i - start));
    }
    out->emplace_back(std::move(key), std::move(raw));
  }
}

}  // namespace

bool IsValidDatabaseName(absl::string_view dbname) {
  if (dbname.empty() || dbname.size() > 63) return false;
  for (char c : dbname) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<std::string> WithDatabaseName(absl::string_view url, absl::string_view dbname) {
  if (!IsValidDatabaseName(dbname)) {
    return dvc::status::InvalidArgument("DB_NAME_INVALID", "dbname",
                                        "Tên cơ sở dữ liệu không hợp lệ.",
                                        "The database name must match [A-Za-z0-9_]{1,63}.");
  }
  for (absl::string_view scheme : {"postgresql://", "postgres://"}) {
    if (!absl::StartsWith(url, scheme)) continue;
    absl::string_view rest = url.substr(scheme.size());
    size_t query = rest.find('?');
    absl::string_view params =
        query == absl::string_view::npos ? absl::string_view() : rest.substr(query);
    absl::string_view before = rest.substr(0, query);
    size_t slash = before.find('/');
    absl::string_view authority = before.substr(0, slash);
    // A dbname=... query parameter would override the path; drop it.
    std::string kept_params;
    if (!params.empty()) {
      std::vector<std::string> kept;
      for (absl::string_view p : absl::StrSplit(params.substr(1), '&')) {
        if (p.empty() || absl::StartsWith(p, "dbname=")) continue;
        kept.emplace_back(p);
      }
      if (!kept.empty()) kept_params = absl::StrCat("?", absl::StrJoin(kept, "&"));
    }
    return absl::StrCat(scheme, authority, "/", dbname, kept_params);
  }
  if (absl::StrContains(url, "://")) return BadUrl();
  std::vector<std::pair<std::string, std::string>> kv;
  if (!ParseConninfo(url, &kv)) return BadUrl();
  std::vector<std::string> parts;
  for (const auto& [k, v] : kv) {
    if (k != "dbname") parts.push_back(absl::StrCat(k, "=", v));
  }
  parts.push_back(absl::StrCat("dbname=", dbname));
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<std::string> EnsureDatabase(absl::string_view admin_url, absl::string_view dbname) {
  auto target = WithDatabaseName(admin_url, dbname);
  if (!target.ok()) return target.status();
  try {
    pqxx::connection conn{std::string(admin_url)};
    pqxx::nontransaction tx(conn);
    // Serializes concurrent creators on this server (released when the connection closes).
    tx.exec_params("SELECT pg_advisory_lock(hashtext($1))", std::string("dvc.create_database"));
    auto r = tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", std::string(dbname));
    if (r.empty()) {
      try {
        tx.exec(absl::StrCat("CREATE DATABASE ", tx.quote_name(std::string(dbname))));
        dvc::log::Info("db.created", {{"dbname", std::string(dbname)}});
      } catch (const pqxx::sql_error& e) {
        // Lost a race with another process: 42P04 duplicate_database, or 23505 on
        // pg_database_datname_index when both inserted the catalog row concurrently.
        if (e.sqlstate() != "42P04" && e.sqlstate() != "23505") throw;
      }
    }
  } catch (const std::exception& e) {
    return StatusFromException(e, "ensure_database");
  }
  return target;
}

absl::Status DropDatabase(absl::string_view admin_url, absl::string_view dbname) {
  if (!IsValidDatabaseName(dbname)) {
    return dvc::status::InvalidArgument("DB_NAME_INVALID", "dbname",
                                        "Tên cơ sở dữ liệu không hợp lệ.",
                                        "The database name must match [A-Za-z0-9_]{1,63}.");
  }
  try {
    pqxx::connection conn{std::string(admin_url)};
    pqxx::nontransaction tx(conn);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", tx.quote_name(std::string(dbname)),
                         " WITH (FORCE)"));
  } catch (const std::exception& e) {
    return StatusFromException(e, "drop_database");
  }
  return absl::OkStatus();
}

}  // namespace dvc::pg
