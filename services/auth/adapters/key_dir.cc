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
                                                                 crypto::Random* random) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  auto files = ListKeyFiles(dir);
  if (!files.ok()) return files.status();
  if (files->empty()) {
    auto kid = GenerateKeyFile(dir, absl::Now(), random);
    if (!kid.ok()) return kid.status();
    log::Info("signing_key.generated", {{"kid", *kid}});
  }
  std::unique_ptr<KeyDirectory> kd(new KeyDirectory(dir));
  if (absl::Status s = kd->Reload(); !s.ok()) return s;
  return kd;
}

std::shared_ptr<const KeySet> KeyDirectory::Keys() {
  absl::MutexLock l(&mu_);
  return keys_;
}

absl::Status KeyDirectory::Reload() {
  auto files = ListKeyFiles(dir_);
  if (!files.ok()) return files.status();
  std::string fp = Fingerprint(*files);
  {
    absl::MutexLock l(&mu_);
    if (keys_ != nullptr && fp == fingerprint_) return absl::OkStatus();
  }
  if (files->empty()) return absl::FailedPreconditionError("signing_key_dir holds no *.pem key");
  std::vector<std::shared_ptr<const jwt::SigningKey>> keys;
  for (const KeyFile& f : *files) {
    auto pem = ReadFile(f.path);
    if (!pem.ok()) return pem.status();
    auto key = jwt::SigningKey::FromPem(f.kid, *pem);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("signing key file ", f.path, ": ", key.status().message()));
    }
    keys.push_back(std::make_shared<const jwt::SigningKey>(*std::move(key)));
  }
  auto set = MakeKeySet(std::move(keys));
  if (!set.ok()) return set.status();
  log::Info("signing_keys.loaded", {{"count", std::to_string((*set)->keys.size())},
                                    {"signing_kid", (*set)->signer->kid()}});
  absl::MutexLock l(&mu_);
  keys_ = *std::move(set);
  fingerprint_ = fp;
  return absl::OkStatus();
}

}  // namespace dvc::auth
