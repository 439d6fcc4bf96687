#include "services/sigverify/testing/shared_pki.h"

#include <cstdlib>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dvc::sigverify::testing {
namespace {

namespace fs = std::filesystem;

// A file of this package, declared as test data: under Bazel it is a symlink into the source
// tree, which reveals the workspace root.
constexpr char kAnchorFile[] = "services/sigverify/testdata/corrupt.pem";

std::string WorkspaceRoot() {
  std::error_code ec;
  fs::path real = fs::canonical(kAnchorFile, ec);
  if (ec) return "";
  std::string s = real.string();
  const std::string suffix = std::string("/") + kAnchorFile;
  if (!absl::EndsWith(s, suffix)) return "";
  return s.substr(0, s.size() - suffix.size());
}

}  // namespace

absl::StatusOr<std::string> SharedPkiRealDir() {
  std::string shared;
  if (const char* env = std::getenv("DVC_SHARED_DIR"); env != nullptr && *env != '\0') {
    shared = env;
  } else {
    const std::string root = WorkspaceRoot();
    if (root.empty()) {
      return absl::FailedPreconditionError(
          "cannot find the workspace root to locate ../shared; set DVC_SHARED_DIR "
          "(bazel test --test_env=DVC_SHARED_DIR=/path/to/shared)");
    }
    shared = root + "/../shared";
  }
  const std::string dir = shared + "/pki/real";
  std::error_code ec;
  int pems = 0;
  if (fs::is_directory(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".pem") ++pems;
    }
  }
  if (pems == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the real PKI certificates are missing: no *.pem in ", dir,
        " (set DVC_SHARED_DIR to the shared folder holding pki/real/*.pem)"));
  }
  return dir;
}

}  // namespace dvc::sigverify::testing
