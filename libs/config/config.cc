#include "libs/config/config.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace dvc::config {
namespace {

std::string EnvName(const std::string& name) { return absl::AsciiStrToUpper(name); }

std::map<std::string, std::string> ParseArgs(const std::vector<std::string>& args,
                                             std::vector<std::string>* errors) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      errors->push_back(absl::StrCat("unexpected argument '", a, "'"));
      continue;
    }
    std::string body = a.substr(2);
    size_t eq = body.find('=');
    if (eq != std::string::npos) {
      out[body.substr(0, eq)] = body.substr(eq + 1);
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      out[body] = args[++i];
    } else {
      out[body] = "true";
    }
  }
  return out;
}

}  // namespace

Source::Source(int argc, char** argv, const std::set<std::string>& subcommands) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && subcommands.count(args[0]) > 0) {
    subcommand_ = args[0];
    args.erase(args.begin());
  }
  flags_ = ParseArgs(args, &errors_);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env_[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  help_ = flags_.count("help") > 0;
}

Source::Source(std::vector<std::string> args, std::map<std::string, std::string> env)
    : env_(std::move(env)) {
  flags_ = ParseArgs(args, &errors_);
  help_ = flags_.count("help") > 0;
}

bool Source::Lookup(const std::string& name, std::string* value) {
  known_.insert(name);
  if (auto it = flags_.find(name); it != flags_.end()) {
    *value = it->second;
    return true;
  }
  if (auto it = env_.find(EnvName(name)); it != env_.end()) {
    *value = it->second;
    return true;
  }
  return false;
}

void Source::Error(const std::string& msg) { errors_.push_back(msg); }

std::string Source::String(const std::string& name, const std::string& def,
                           const std::string& help, bool required) {
  absl::StrAppend(&usage_, "  --", name, " (", EnvName(name), ")  ", help, "\n");
  std::string v;
  if (!Lookup(name, &v)) v = def;
  if (required && v.empty()) Error(absl::StrCat(name, ": required (", help, ")"));
  effective_.emplace_back(name, v);
  return v;
}

std::string Source::Enum(const std::string& name, const std::string& def,
                         const std::string& help, const std::vector<std::string>& allowed) {
  std::string v = String(name, def, absl::StrCat(help, " [", absl::StrJoin(allowed, "|"), "]"));
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    Error(absl::StrCat(name, ": '", v, "' is not one of ", absl::StrJoin(allowed, ", ")));
  }
  return v;
}

int Source::Int(const std::string& name, int def, const std::string& help, int min, int max) {
  absl::StrAppend(&usage_, "  --", name, " (", EnvName(name), ")  ", help, " [", min, "..", max,
                  "]\n");
  std::string v;
  int out = def;
  if (Lookup(name, &v)) {
    if (!absl::SimpleAtoi(v, &out)) {
      Error(absl::StrCat(name, ": '", v, "' is not an integer"));
      return def;
    }
  }
  if (out < min || out > max) {
    Error(absl::StrCat(name, ": ", out, " is outside [", min, ", ", max, "]"));
  }
  effective_.emplace_back(name, std::to_string(out));
  return out;
}

bool Source::Bool(const std::string& name, bool def, const std::string& help) {
  absl::StrAppend(&usage_, "  --", name, " (", EnvName(name), ")  ", help, " [true|false]\n");
  std::string v;
  bool out = def;
  if (Lookup(name, &v)) {
    std::string l = absl::AsciiStrToLower(v);
    if (l == "true" || l == "1" || l == "yes") {
      out = true;
    } else if (l == "false" || l == "0" || l == "no") {
      out = false;
    } else {
      Error(absl::StrCat(name, ": '", v, "' is not a boolean"));
    }
  }
  effective_.emplace_back(name, out ? "true" : "false");
  return out;
}

absl::Duration Source::Duration(const std::string& name, absl::Duration def,
                                const std::string& help) {
  absl::StrAppend(&usage_, "  --", name, " (", EnvName(name), ")  ", help,
                  " [duration, e.g. 300ms, 5s, 10m]\n");
  std::string v;
  absl::Duration out = def;
  if (Lookup(name, &v)) {
    if (!absl::ParseDuration(v, &out) || out < absl::ZeroDuration()) {
      Error(absl::StrCat(name, ": '", v, "' is not a non-negative duration"));
      out = def;
    }
  }
  effective_.emplace_back(name, absl::FormatDuration(out));
  return out;
}

std::string Source::Secret(const std::string& name, const std::string& help, bool required) {
  absl::StrAppend(&usage_, "  --", name, "_file (", EnvName(name), "_FILE) or ", EnvName(name),
                  "  ", help, " [secret]\n");
  std::string path, v;
  if (Lookup(name + "_file", &path) && !path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      Error(absl::StrCat(name, "_file: cannot read '", path, "'"));
    } else {
      std::stringstream ss;
      ss << in.rdbuf();
      v = ss.str();
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    }
  } else if (auto it = env_.find(EnvName(name)); it != env_.end()) {
    known_.insert(name);
    v = it->second;
  } else if (auto it2 = flags_.find(name); it2 != flags_.end()) {
    Error(absl::StrCat(name, ": secrets are not accepted on the command line; use --", name,
                       "_file or the ", EnvName(name), " environment variable"));
    known_.insert(name);
  }
  if (required && v.empty()) Error(absl::StrCat(name, ": required secret (", help, ")"));
  effective_.emplace_back(name, v.empty() ? "(unset)" : "(secret)");
  return v;
}

absl::Status Source::Finish() {
  if (help_) return absl::FailedPreconditionError(absl::StrCat("Options:\n", usage_));
  for (const auto& [k, v] : flags_) {
    if (k != "help" && known_.count(k) == 0) Error(absl::StrCat("unknown flag --", k));
  }
  if (errors_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid configuration:\n  ", absl::StrJoin(errors_, "\n  ")));
}

std::string Source::Describe() const {
  std::vector<std::string> parts;
  for (const auto& [k, v] : effective_) {
    // URLs may embed passwords: show only what precedes the '@' user part's password.
    std::string shown = v;
    size_t scheme = shown.find("://");
    size_t at = shown.find('@');
    if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
      size_t colon = shown.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) {
        shown = shown.substr(0, colon + 1) + "***" + shown.substr(at);
      }
    }
    // Keyword conninfo ("host=db password=x") and query parameters ("?password=x").
    for (const char* marker : {"password=", "sslpassword="}) {
      size_t pos = 0;
      while ((pos = shown.find(marker, pos)) != std::string::npos) {
        size_t start = pos + std::strlen(marker);
        size_t end = shown.find_first_of(" &", start);
        if (end == std::string::npos) end = shown.size();
        shown.replace(start, end - start, "***");
        pos = start + 3;
      }
    }
    parts.push_back(absl::StrCat(k, "=", shown));
  }
  return absl::StrJoin(parts, " ");
}

}  // namespace dvc::config
