#include "libs/validators/mst.h"

#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

absl::Status Malformed(absl::string_view field) {
  return dvc::status::InvalidArgument(
      "MST_MALFORMED", field,
      "Mã số thuế phải gồm 10 chữ số, hoặc 10 chữ số, dấu gạch ngang và 3 chữ số mã chi nhánh.",
      "The tax code must be 10 digits, or 10 digits, a hyphen and a 3-digit branch number.");
}

}  // namespace

absl::Status ValidateMst(absl::string_view mst, absl::string_view field) {
  if (mst.size() != 10 && mst.size() != 14) return Malformed(field);
  absl::string_view base = mst.substr(0, 10);
  if (!AllDigits(base)) return Malformed(field);
  if (mst.size() == 14) {
    absl::string_view branch = mst.substr(11);
    if (mst[10] != '-' || !AllDigits(branch) || branch == "000") return Malformed(field);
  }
  if (base.substr(2, 7) == "0000000") return Malformed(field);
  static constexpr int kWeights[] = {31, 29, 23, 19, 17, 13, 7, 5, 3};
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += kWeights[i] * (base[i] - '0');
  int r = sum % 11;
  if (r == 0 || 10 - r != base[9] - '0') {
    return dvc::status::InvalidArgument("MST_CHECKSUM", field,
                                        "Mã số thuế không đúng (sai chữ số kiểm tra).",
                                        "The tax code is not valid (wrong check digit).");
  }
  return absl::OkStatus();
}

absl::Status ValidateUnitCode(absl::string_view code, absl::string_view field) {
  // NNN.NN.NN.XNN
  static constexpr char kShape[] = "999.99.99.A99";
  bool ok = code.size() == sizeof(kShape) - 1;
  for (size_t i = 0; ok && i < code.size(); ++i) {
    char want = kShape[i], c = code[i];
    if (want == '9') {
      ok = IsDigit(c);
    } else if (want == 'A') {
      ok = c >= 'A' && c <= 'Z';
    } else {
      ok = c == want;
    }
  }
  if (!ok) {
    return dvc::status::InvalidArgument(
        "UNIT_CODE_MALFORMED", field,
        "Mã định danh cơ quan phải có dạng NNN.NN.NN.XNN (ví dụ 000.00.00.G22).",
        "The agency unit code must have the form NNN.NN.NN.XNN (e.g. 000.00.00.G22).");
  }
  return absl::OkStatus();
}

}  // namespace dvc::validators
