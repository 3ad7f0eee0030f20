#include "api/asset_code.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace loan_gateway::api {

using institutional_loan::v1::Asset;

constexpr absl::string_view kPrefix = "ASSET_";

std::string AssetCode(Asset asset) {
  if (asset == institutional_loan::v1::ASSET_UNSPECIFIED ||
      !institutional_loan::v1::Asset_IsValid(asset)) {
    return "";
  }
  const std::string& name = institutional_loan::v1::Asset_Name(asset);
  return absl::StartsWith(name, kPrefix) ? name.substr(kPrefix.size()) : "";
}

Asset AssetFromCode(absl::string_view code) {
  Asset asset = institutional_loan::v1::ASSET_UNSPECIFIED;
  if (code.empty() ||
      !institutional_loan::v1::Asset_Parse(
          absl::StrCat(kPrefix, absl::AsciiStrToUpper(code)), &asset)) {
    return institutional_loan::v1::ASSET_UNSPECIFIED;
  }
  return asset;
}

}  // namespace loan_gateway::api
