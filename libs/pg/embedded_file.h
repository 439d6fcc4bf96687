// A data file compiled into the binary by cc_embed (bazel/embed.bzl), e.g. a SQL migration.
#pragma once

#include <string>

namespace dvc {

struct EmbeddedFile {
  std::string name;     // basename, e.g. "0001_create_accounts.sql"
  std::string content;  // exact bytes of the file
};

}  // namespace dvc
