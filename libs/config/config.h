// Typed configuration from command-line flags and environment variables, validated at start-up.
//
// Each service declares one config struct and fills it through a Source:
//   config::Source src(argc, argv);
//   cfg.grpc_port = src.Int("grpc_port", 50051, "gRPC listen port", 1, 65535);
//   cfg.database_url = src.String("database_url", "", "PostgreSQL URL", /*required=*/true);
//   if (auto s = src.Finish(); !s.ok()) { /* print s and exit */ }
// A value comes from `--name=value` (or `--name value`) first, then from the environment variable
// NAME (upper-cased), then from the default. Secrets come from `--name_file` / NAME_FILE (a path
// whose content is the secret) or NAME; they are never printed by Describe(). Unknown flags and
// invalid values are collected and reported together by Finish(), so a bad deployment fails fast
// with every problem listed.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace dvc::config {

class Source final {
 public:
  // `subcommands`: words accepted as the first argument (e.g. {"migrate"}); see subcommand().
  Source(int argc, char** argv, const std::set<std::string>& subcommands = {});
  // For tests: explicit args and environment.
  Source(std::vector<std::string> args, std::map<std::string, std::string> env);

  std::string String(const std::string& name, const std::string& def, const std::string& help,
                     bool required = false);
  // A string that must be one of `allowed`.
  std::string Enum(const std::string& name, const std::string& def, const std::string& help,
                   const std::vector<std::string>& allowed);
  int Int(const std::string& name, int def, const std::string& help, int min, int max);
  bool Bool(const std::string& name, bool def, const std::string& help);
  absl::Duration Duration(const std::string& name, absl::Duration def, const std::string& help);
  // A secret: from NAME_FILE / --name_file (file content, trailing newline trimmed) or NAME.
  std::string Secret(const std::string& name, const std::string& help, bool required);

  // Reports unknown flags and every invalid/missing value; OK when all is well. `--help` makes
  // it return a FailedPrecondition whose message is the usage text.
  absl::Status Finish();
  // Human-readable effective configuration with secrets redacted (for start-up logs).
  std::string Describe() const;
  // The sub-command given as the first argument ("" when none).
  const std::string& subcommand() const { return subcommand_; }

 private:
  bool Lookup(const std::string& name, std::string* value);
  void Error(const std::string& msg);

  std::map<std::string, std::string> flags_;
  std::map<std::string, std::string> env_;
  std::set<std::string> known_;
  std::vector<std::string> errors_;
  std::vector<std::pair<std::string, std::string>> effective_;
  std::string usage_;
  bool help_ = false;
  std::string subcommand_;
};

}  // namespace dvc::config
