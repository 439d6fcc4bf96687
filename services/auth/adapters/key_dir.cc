#include "services/auth/adapters/key_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/crypto/encoding.h"
#include "libs/logging/log.h"

namespace dvc::auth {
namespace {

namespace fs = std::filesystem;

struct KeyFile {
  std::string kid;
  std::string path;
  int64_t mtime_ns;
  int64_t size;
};

absl::StatusOr<std::vector<KeyFile>> ListKeyFiles(const std::string& dir) {
  std::vector<KeyFile> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (!absl::EndsWith(name, ".pem") || name.size() <= 4 || name[0] == '.') continue;
    struct stat st;
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    files.push_back(
        {name.substr(0, name.size() - 4), p.string(), mtime, static_cast<int64_t>(st.st_size)});
  }
  if (ec) return absl::UnavailableError(absl::StrCat("signing_key_dir ", dir, ": ", ec.message()));
  std::sort(files.begin(), files.end(), [](const KeyFile& a, const KeyFile& b) {
    return std::tie(a.mtime_ns, a.kid) < std::tie(b.mtime_ns, b.kid);
  });
  return files;
}

std::string Fingerprint(const std::vector<KeyFile>& files) {
  std::string f;
  for (const auto& k : files) absl::StrAppend(&f, k.kid, "/", k.mtime_ns, "/", k.size, ";");
  return f;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::string> KeyDirectory::GenerateKeyFile(const std::string& dir, absl::Time now,
                                                          crypto::Random* random) {
  std::string kid = absl::StrCat(absl::FormatTime("k%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()), "-",
                                 crypto::HexEncode(random->Bytes(3)));
  auto key = jwt::SigningKey::Generate(kid);
  if (!key.ok()) return key.status();
  auto pem = key->PrivatePem();
  if (!pem.ok()) return pem.status();
  std::string tmp = absl::StrCat(dir, "/.", kid, ".tmp");
  std::string final_path = absl::StrCat(dir, "/", kid, ".pem");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  size_t off = 0;
  while (off < pem->size()) {
    ssize_t n = ::write(fd, pem->data() + off, pem->size() - off);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot rename to ", final_path));
  }
  return kid;
}

absl::StatusOr<std::unique_ptr<KeyDirectory>> KeyDirectory::Open(const std::string& dir,
                                                                 const KeyDirOptions& options,
                                                                 Clock* clock,
                                                                 crypto::Random* random) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (!options.autogenerate) {
      return absl::FailedPreconditionError(
          absl::StrCat("signing_key_dir ", dir, " does not exist and key autogeneration is off"));
    }
    fs::create_directories(dir, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  auto files = ListKeyFiles(dir);
  if (!files.ok()) return files.status();
  if (files->empty()) {
    if (!options.autogenerate) {
      return absl::FailedPreconditionError(absl::StrCat(
          "signing_key_dir ", dir, " holds no *.pem key and key autogeneration is off"));
    }
    auto kid = GenerateKeyFile(dir, clock->Now(), random);
    if (!kid.ok()) return kid.status();
    log::Info("signing_key.generated", {{"kid", *kid}});
  }
  std::unique_ptr<KeyDirectory> kd(new KeyDirectory(dir, options, clock));
  if (absl::Status s = kd->Reload(); !s.ok()) return s;
  return kd;
}

std::shared_ptr<const KeySet> KeyDirectory::Keys() {
  absl::Time now = clock_->Now();
  {
    // Every introspection and signature comes here: a shared lock on the common path, the
    // exclusive one only when a key's publish delay has just ended.
    absl::ReaderMutexLock l(&mu_);
    if (now < next_promotion_) return keys_;
  }
  absl::MutexLock l(&mu_);
  if (now >= next_promotion_) ChooseSignerLocked(now);
  return keys_;
}

void KeyDirectory::ChooseSignerLocked(absl::Time now) {
  // visible_since_ is ascending, so the keys old enough to sign form a prefix.
  size_t eligible = 0;
  while (eligible < visible_since_.size() &&
         visible_since_[eligible] + options_.publish_delay <= now) {
    ++eligible;
  }
  next_promotion_ = eligible < visible_since_.size()
                        ? visible_since_[eligible] + options_.publish_delay
                        : absl::InfiniteFuture();
  std::string previous = keys_ != nullptr ? keys_->signer->kid() : std::string();
  // None old enough (fresh install): the oldest signs.
  keys_ = WithSigner(*base_, eligible == 0 ? 0 : eligible - 1);
  if (keys_->signer->kid() != previous) {
    log::Info("signing_keys.signer", {{"kid", keys_->signer->kid()},
                                      {"previous", previous},
                                      {"verifying", std::to_string(keys_->keys.size())}});
  }
}

bool KeyDirectory::RefreshForUnknownKid(const KeySet& seen) {
  absl::MutexLock r(&reload_mu_);
  {
    absl::MutexLock l(&mu_);
    if (keys_->version != seen.version) return true;  // another call already reloaded
  }
  absl::Time now = clock_->Now();
  if (now < next_unknown_kid_reload_) return false;
  next_unknown_kid_reload_ = now + options_.unknown_kid_reload_interval;
  if (absl::Status s = ReloadLocked(); !s.ok()) {
    log::Warn("signing_keys.reload_failed", {{"error", s.ToString()}, {"cause", "unknown_kid"}});
  }
  absl::MutexLock l(&mu_);
  return keys_->version != seen.version;
}

absl::Status KeyDirectory::Reload() {
  absl::MutexLock r(&reload_mu_);
  return ReloadLocked();
}

absl::Status KeyDirectory::ReloadLocked() {
  auto files = ListKeyFiles(dir_);
  if (!files.ok()) return files.status();
  std::string fp = Fingerprint(*files);
  if (!fingerprint_.empty() && fp == fingerprint_) return absl::OkStatus();
  if (files->empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("signing_key_dir ", dir_, " holds no *.pem key"));
  }
  struct Loaded {
    std::shared_ptr<const jwt::SigningKey> key;
    absl::Time visible_since;
  };
  const absl::Time now = clock_->Now();
  std::vector<Loaded> loaded;
  for (const KeyFile& f : *files) {
    auto pem = ReadFile(f.path);
    if (!pem.ok()) return pem.status();
    auto key = jwt::SigningKey::FromPem(f.kid, *pem);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("signing key file ", f.path, ": ", key.status().message()));
    }
    auto seen = first_seen_.find(f.kid);
    absl::Time first_seen = seen != first_seen_.end() ? seen->second : now;
    loaded.push_back({std::make_shared<const jwt::SigningKey>(*std::move(key)),
                      std::min(first_seen, absl::FromUnixNanos(f.mtime_ns))});
  }
  std::sort(loaded.begin(), loaded.end(), [](const Loaded& a, const Loaded& b) {
    return std::tie(a.visible_since, a.key->kid()) < std::tie(b.visible_since, b.key->kid());
  });
  std::vector<std::shared_ptr<const jwt::SigningKey>> keys;
  std::vector<absl::Time> visible_since;
  for (const Loaded& l : loaded) {
    keys.push_back(l.key);
    visible_since.push_back(l.visible_since);
  }
  auto set = MakeKeySet(std::move(keys));
  if (!set.ok()) return set.status();

  // Remember when each present kid was first seen; forget removed ones.
  std::map<std::string, absl::Time> first_seen;
  for (const KeyFile& f : *files) {
    auto seen = first_seen_.find(f.kid);
    first_seen[f.kid] = seen != first_seen_.end() ? seen->second : now;
  }
  first_seen_ = std::move(first_seen);
  fingerprint_ = fp;
  log::Info("signing_keys.loaded", {{"count", std::to_string((*set)->keys.size())}});
  absl::MutexLock l(&mu_);
  base_ = *std::move(set);
  visible_since_ = std::move(visible_since);
  ChooseSignerLocked(now);
  return absl::OkStatus();
}

}  // namespace dvc::auth
